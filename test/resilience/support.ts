import { readFileSync } from 'node:fs';
import { connect, type NatsConnection, type NodeConnectionOptions, type Subscription } from '@nats-io/transport-node';
import { RunEvent, subjects } from '@pipewright/contracts';
import { waitFor } from '@pipewright/devstack';

export interface SeenEvent {
  event: RunEvent;
  msgId: string | undefined;
}

/**
 * Every run event published while it listens (a core subscription on `pw.events.>`, which sees what the
 * stream stores), by run. Lighter than one ordered consumer per run when a test drives 100 runs at once.
 */
export class EventLog {
  private readonly byRun = new Map<string, SeenEvent[]>();
  private constructor(
    private readonly nc: NatsConnection,
    private readonly sub: Subscription,
  ) {}

  static async start(target: string | NodeConnectionOptions): Promise<EventLog> {
    const nc = await connect(typeof target === 'string' ? { servers: target } : target);
    const sub = nc.subscribe(subjects.allEvents);
    const log = new EventLog(nc, sub);
    void (async () => {
      for await (const m of sub) {
        const parsed = RunEvent.safeParse(m.json());
        if (!parsed.success) continue;
        const list = log.byRun.get(parsed.data.runId) ?? [];
        list.push({ event: parsed.data, msgId: m.headers?.get('Nats-Msg-Id') || undefined });
        log.byRun.set(parsed.data.runId, list);
      }
    })();
    await nc.flush();
    return log;
  }

  events(runId: string): RunEvent[] {
    return (this.byRun.get(runId) ?? []).map((e) => e.event);
  }

  seen(runId: string): SeenEvent[] {
    return [...(this.byRun.get(runId) ?? [])];
  }

  finished(runId: string): Extract<RunEvent, { type: 'run.finished' }> | undefined {
    return this.events(runId).find((e): e is Extract<RunEvent, { type: 'run.finished' }> => e.type === 'run.finished');
  }

  /** Waits (bounded) until every run has finished; resolves with their final events. */
  async allFinished(runIds: readonly string[], timeoutMs: number): Promise<Extract<RunEvent, { type: 'run.finished' }>[]> {
    return waitFor(`${runIds.length} runs to finish`, () => {
      const ends = runIds.map((id) => this.finished(id));
      return ends.every((e) => e !== undefined) ? ends : undefined;
    }, { timeoutMs, intervalMs: 100 });
  }

  async close(): Promise<void> {
    this.sub.unsubscribe();
    await this.nc.drain();
  }
}

/** The JSON lines of a service's log file (what LocalStack's `logDir` collects). */
export function logLines(file: string): Record<string, unknown>[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a line cut by the process exiting
    }
  }
  return out;
}

/** One sample of a Prometheus text exposition, e.g. `pw_breaker_state{model="sim-a"}`; undefined if absent. */
export async function metricValue(port: number, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) });
  const text = await res.text();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labelText = line.slice(name.length + 1, line.indexOf('}'));
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) return Number(line.slice(line.indexOf('}') + 1).trim());
  }
  return undefined;
}

/**
 * The X-Pw-Call-Attempt values of one step, split into deliveries: each delivery of a command numbers
 * its calls from 1, so a number that does not grow starts a new delivery (after the step was parked).
 * A number may be missing when that call never reached the server (a connection error).
 */
export function deliveries(attempts: readonly number[]): number[][] {
  const out: number[][] = [];
  for (const a of attempts) {
    const last = out.at(-1);
    if (last && a > last.at(-1)!) last.push(a);
    else out.push([a]);
  }
  return out;
}
