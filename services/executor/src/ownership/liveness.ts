import { errors, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { shallowFields, subjects } from '@pipewright/contracts';
import type { OwnerAnswer } from './lease-step.js';

/**
 * Liveness of an executor process, answered over core NATS on `pw.executors.<owner>.ping`. The server
 * knows at once when a process's connection is gone (a killed pod's socket closes), and then answers a
 * request to that subject with "no responders": a certain sign of death, unlike a timeout, which a
 * slow or loaded process also gives. Leases are taken over only on the certain sign.
 */

interface PingBody {
  runId?: string;
  task?: string;
}

/** Answers pings for `owner`: alive, and whether it holds the task asked about. */
export async function serveLiveness(nc: NatsConnection, owner: string, holds: (runId: string, task: string) => boolean): Promise<Subscription> {
  const sub = nc.subscribe(subjects.executorPing(owner), {
    callback: (err, msg) => {
      if (err) return;
      // a malformed ping (not JSON, not an object, nested any depth) still learns that we are alive
      const body: PingBody & Record<string, unknown> = (msg.data.length > 0 ? shallowFields(msg.string()) : undefined) ?? {};
      const holding = typeof body.runId === 'string' && typeof body.task === 'string' ? holds(body.runId, body.task) : undefined;
      msg.respond(JSON.stringify({ owner, ...(holding !== undefined ? { holding } : {}) }));
    },
  });
  // The subscription must be on the server before any lease names this owner, or an early ping would
  // find no responders and take a live owner's task.
  await nc.flush();
  return sub;
}

/** Asks `owner` whether it is alive (and holds `task`, when given). */
export async function askOwner(nc: NatsConnection, owner: string, timeoutMs: number, task?: { runId: string; task: string }): Promise<OwnerAnswer> {
  try {
    const reply = await nc.request(subjects.executorPing(owner), task ? JSON.stringify(task) : '', { timeout: timeoutMs });
    const body = reply.json<{ holding?: boolean }>();
    return task && body.holding === false ? 'not-holding' : 'holding';
  } catch (err) {
    if (isNoResponders(err)) return 'gone';
    if (err instanceof errors.TimeoutError || (err instanceof errors.RequestError && err.cause instanceof errors.TimeoutError)) return 'unresponsive';
    throw err;
  }
}

function isNoResponders(err: unknown): boolean {
  return err instanceof errors.NoRespondersError || (err instanceof errors.RequestError && err.isNoResponders());
}
