import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { decisionTrail, readRunEvents, submitRun, watchRun, type RunEnd } from '@pipewright/cli';
import type { Decision, RunEvent } from '@pipewright/contracts';
import { TaskLog, type TaskLogEntry } from '@pipewright/kit';

/** A client connection for a test, closed by the returned function. */
export async function client(target: string | NodeConnectionOptions): Promise<{ nc: NatsConnection; js: ReturnType<typeof jetstream>; close: () => Promise<void> }> {
  const nc = await connect(typeof target === 'string' ? { servers: target } : target);
  return { nc, js: jetstream(nc), close: () => nc.drain() };
}

/** Submits a run and waits (bounded) for its final event; returns every event seen. */
export async function runToEnd(js: ReturnType<typeof jetstream>, pipeline: unknown, input: Record<string, unknown>, opts: { runId?: string; timeoutMs?: number } = {}): Promise<{ runId: string; end: RunEnd; events: RunEvent[] }> {
  const runId = await submitRun(js, pipeline, input, opts.runId ? { runId: opts.runId } : {});
  const events: RunEvent[] = [];
  const end = await watchRun(js, runId, (e) => events.push(e), { timeoutMs: opts.timeoutMs ?? 30_000 });
  return { runId, end, events };
}

/** Whether a process is alive (signal 0 checks without sending anything). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The last entry of a task's log (`<stepId>=<attempt>[=t<turn>][=tool]`): its result, once it has one. */
export async function taskEntry(nc: NatsConnection, runId: string, task: string): Promise<TaskLogEntry | undefined> {
  return (await new TaskLog(jetstream(nc), await jetstreamManager(nc)).last(runId, task))?.entry;
}

/** The run's decision trail, read from its events. */
export async function trailOf(js: ReturnType<typeof jetstream>, runId: string): Promise<Decision[]> {
  return decisionTrail(await readRunEvents(js, runId));
}
