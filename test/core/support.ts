import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { LocalStack, submitRun, type ServiceName } from '@pipewright/cli';
import { BudgetStatusReply, headers, SCHEMA_VERSION, streams, subjects, type BudgetStatus } from '@pipewright/contracts';
import { waitFor, WaitTimeoutError } from '@pipewright/devstack';
import { TaskLogEntry } from '@pipewright/kit';
import type { SimConfig, SimCounters } from '@pipewright/llm-sim';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { dlqCount } from '../chaos/support.js';
import { EventLog } from '../resilience/support.js';

export { dlqCount, EventLog };

/**
 * Shared pieces of the execution-core tests: a local stack whose services log to files, bulk submits,
 * the simulator's per-key call counts, the task logs read back with their stream sequences and store
 * times, a tap on every step command, and the budget's view of a run.
 */

/** The one step of `oneStepPipeline`: its model call's Idempotency-Key is `<runId>:only`. */
export const ONLY = 'only';

/**
 * A pipeline of one `llm` step, metered (a run budget far above what it spends, so the budget service
 * reserves with the real tokenizer and books every call, and never denies one). The step's timeout is
 * far above the simulated latency: a model call is never retried for slowness, so a second call for a
 * key can only come from a second delivery that ran the task.
 */
export function oneStepPipeline(name: string, timeoutMs = 60_000): Record<string, unknown> {
  return {
    name,
    defaults: { model: 'sim-small', maxOutputTokens: 16, timeoutMs },
    budget: { maxUsd: 1 },
    steps: [{ id: ONLY, prompt: 'Answer question {{input.n}}' }],
  };
}

/** A stack for one `describe`, with every service's log in a folder kept when a test failed. */
export class CoreStack {
  keepLogs = process.env['PW_KEEP_LOGS'] !== undefined;
  /** What a test read back (task logs, counters): written next to the logs when the test fails. */
  evidence: Record<string, unknown> | undefined;

  private constructor(
    readonly stack: LocalStack,
    readonly logDir: string,
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly events: EventLog,
  ) {}

  static async start(name: string, o: { services: ServiceName[]; env?: Record<string, string>; sim?: SimConfig }): Promise<CoreStack> {
    const logDir = mkdtempSync(join(tmpdir(), `pw-core-${name}-`));
    const stack = await LocalStack.start({ services: o.services, logDir, ...(o.env ? { env: o.env } : {}), ...(o.sim ? { sim: o.sim } : {}) });
    try {
      const nc = await connect(stack.natsOptions());
      return new CoreStack(stack, logDir, nc, jetstream(nc), await EventLog.start(stack.natsOptions()));
    } catch (err) {
      await stack.stop();
      throw err;
    }
  }

  /** Submits one run per id, a bounded number of publishes in flight. */
  async submitAll(pipeline: unknown, runIds: readonly string[]): Promise<void> {
    for (let i = 0; i < runIds.length; i += 50) {
      await Promise.all(runIds.slice(i, i + 50).map((runId, j) => submitRun(this.js, pipeline, { n: i + j }, { runId })));
    }
  }

  /** Keeps the logs, with the evidence as `evidence.json` beside them (a test failed). */
  keep(): void {
    this.keepLogs = true;
    if (this.evidence === undefined) return;
    const mapsAsObjects = (_k: string, v: unknown): unknown => (v instanceof Map ? Object.fromEntries(v as Map<string, unknown>) : v);
    writeFileSync(join(this.logDir, 'evidence.json'), JSON.stringify(this.evidence, mapsAsObjects, 2));
  }

  async stop(): Promise<void> {
    try {
      await this.events.close();
      await this.nc.drain();
      await this.stack.stop();
    } finally {
      if (this.keepLogs) console.log(`[core] service logs kept in ${this.logDir}`);
      else rmSync(this.logDir, { recursive: true, force: true });
    }
  }
}

/**
 * A CoreStack for the enclosing `describe`: started before its tests, stopped after them; a test that
 * fails keeps the logs and its evidence. Returns the stack's getter.
 */
export function coreStack(name: string, o: Parameters<typeof CoreStack.start>[1]): () => CoreStack {
  let core: CoreStack | undefined;
  beforeAll(async () => {
    core = await CoreStack.start(name, o);
  });
  afterAll(async () => {
    await core?.stop();
  });
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => core?.keep());
  });
  return () => {
    if (!core) throw new Error(`the ${name} stack did not start`);
    return core;
  };
}

/** Run ids `<prefix>-000` … in submission order. */
export const runIdsOf = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}`);

/** Calls the simulator saw per Idempotency-Key, for the given keys (0 for a key it never saw). */
export function callsByKey(counters: SimCounters, keys: readonly string[]): Map<string, number> {
  return new Map(keys.map((k) => [k, counters.byKey[k]?.calls ?? 0]));
}

/** Keys whose call count is not exactly one, as `key=calls`, for an assertion message. */
export function notOnce(calls: ReadonlyMap<string, number>): string[] {
  return [...calls].filter(([, n]) => n !== 1).map(([k, n]) => `${k}=${n}`);
}

/** Messages a stream holds now (a work queue: those not yet acknowledged). */
export async function streamMessages(nc: NatsConnection, stream: string): Promise<number> {
  return (await (await jetstreamManager(nc)).streams.info(stream)).state.messages;
}

/** The last sequence PW_EVENTS has stored: entries at or below it were appended before this call. */
export async function eventsLastSeq(nc: NatsConnection): Promise<number> {
  return (await (await jetstreamManager(nc)).streams.info(streams.events.name)).state.last_seq;
}

/** A task-log entry as stored: its stream sequence and the server's store time. */
export interface StoredEntry {
  seq: number;
  storedAtMs: number;
  entry: TaskLogEntry;
}

/**
 * Every task-log entry on PW_EVENTS (`pw.events.<runId>.step.<kind>.<task>`), read back with an ordered
 * consumer, grouped by run and task in stream order.
 */
export async function readTaskLogs(js: JetStreamClient): Promise<Map<string, Map<string, StoredEntry[]>>> {
  const consumer = await js.consumers.get(streams.events.name, { filter_subjects: ['pw.events.*.step.*.*'] });
  const out = new Map<string, Map<string, StoredEntry[]>>();
  for (;;) {
    const m = await consumer.next({ expires: 2_000 });
    if (!m) return out;
    const parsed = TaskLogEntry.safeParse(m.json());
    if (!parsed.success) throw new Error(`task log entry ${m.seq} (${m.subject}) does not parse: ${parsed.error.message}`);
    const task = m.subject.split('.').at(-1)!;
    const byTask = out.get(parsed.data.runId) ?? new Map<string, StoredEntry[]>();
    byTask.set(task, [...(byTask.get(task) ?? []), { seq: m.seq, storedAtMs: Number(m.timestampNanos / 1_000_000n), entry: parsed.data }]);
    out.set(parsed.data.runId, byTask);
    if (m.info.pending === 0) return out;
  }
}

/** What the task logs and the simulator say about revoked tasks (see `checkRevocations`). */
export interface RevocationReport {
  callsMade: number;
  runsWithCall: number;
  /** Leases stored at or before `cancelSeq`. */
  leasesBeforeCancel: number;
  revokedRunning: number;
  revokedNotStarted: number;
  /** Calls the simulator answered in full (a call aborted in time is not). */
  answered: number;
  /** Calls answered in full although their task's revocation was stored before the task's result. */
  answeredAfterRevocation: number;
  /**
   * Tasks failed as `revoked` with no revocation stored before the failure. Executors learn of
   * revocations from a core subscription, which also sees an append the stream rejected (the planner's
   * compare-and-set lost to a lease or a result). Counted, not a violation: the run did end.
   */
  revokedWithoutEntry: number;
  /** Broken rules, one line each. */
  violations: string[];
}

/**
 * Checks the revocation rules on the one task of each run (its Idempotency-Key `<runId>:<stepId>`): no
 * lease after a revocation; a model call only under a lease stored before the revocation; no call
 * arriving later than `marginMs` after the revocation was stored; a task revoked while running ends
 * `step.failed` with `error.code: revoked` after the revocation (its call was aborted).
 */
export function checkRevocations(runIds: readonly string[], logs: Map<string, Map<string, StoredEntry[]>>, counters: SimCounters, step: { stepId: string; task: string }, cancelSeq: number, marginMs: number): RevocationReport {
  const r: RevocationReport = { callsMade: 0, runsWithCall: 0, leasesBeforeCancel: 0, revokedRunning: 0, revokedNotStarted: 0, answered: 0, answeredAfterRevocation: 0, revokedWithoutEntry: 0, violations: [] };
  for (const runId of runIds) {
    const entries = logs.get(runId)?.get(step.task) ?? [];
    const key = counters.byKey[`${runId}:${step.stepId}`];
    const calls = key?.calls ?? 0;
    r.callsMade += calls;
    if (calls > 0) r.runsWithCall += 1;
    r.answered += key?.billed.answers ?? 0;
    const leases = entries.filter((e) => e.entry.type === 'step.started');
    r.leasesBeforeCancel += leases.filter((e) => e.seq <= cancelSeq).length;
    const revoked = entries.find((e) => e.entry.type === 'step.revoked');
    const final = entries.find((e) => e.entry.type === 'step.completed' || e.entry.type === 'step.failed');
    const describe = (e: StoredEntry | undefined) => (e ? `${e.entry.type}${e.entry.type === 'step.failed' ? `(${e.entry.error.code})` : ''} at seq ${e.seq}` : 'missing');
    if (final?.entry.type === 'step.failed' && final.entry.error.code === 'revoked' && !(revoked && revoked.seq < final.seq)) r.revokedWithoutEntry += 1;
    if (revoked?.entry.type !== 'step.revoked') {
      if (calls > 0 && leases.length === 0) r.violations.push(`${runId}: ${calls} model call(s) without any lease`);
      continue;
    }
    if (revoked.entry.inFlight) r.revokedRunning += 1;
    else r.revokedNotStarted += 1;
    for (const l of leases) if (l.seq > revoked.seq) r.violations.push(`${runId}: lease at seq ${l.seq} appended after the revocation at seq ${revoked.seq}`);
    if (calls > 0 && !leases.some((l) => l.seq < revoked.seq)) r.violations.push(`${runId}: ${calls} model call(s) but no lease before the revocation at seq ${revoked.seq}`);
    for (const at of key?.arrivals ?? []) if (at > revoked.storedAtMs + marginMs) r.violations.push(`${runId}: a call arrived ${at - revoked.storedAtMs} ms after the revocation was stored`);
    if (revoked.entry.inFlight && !(final?.entry.type === 'step.failed' && final.entry.error.code === 'revoked' && final.seq > revoked.seq))
      r.violations.push(`${runId}: revoked while running (lease seq ${leases.at(-1)?.seq ?? '?'}, revocation seq ${revoked.seq}, call arrived ${key?.arrivals[0] !== undefined ? `${key.arrivals[0] - revoked.storedAtMs} ms after it` : 'never'}), but its result is ${describe(final)}: the call was not aborted`);
    if (key && key.billed.answers > 0 && final && final.seq > revoked.seq) r.answeredAfterRevocation += 1;
  }
  return r;
}

/** Every step and tool command published while it listens (a core subscription sees each publish, duplicates included). */
export class CommandTap {
  published = 0;
  replays = 0;
  readonly msgIds = new Set<string>();
  private readonly sub: Subscription;

  constructor(nc: NatsConnection) {
    this.sub = nc.subscribe('pw.steps.>', {
      callback: (err, m) => {
        if (err) return;
        this.published += 1;
        if (m.headers?.get(headers.replay)) this.replays += 1;
        const id = m.headers?.get(headers.msgId);
        if (id) this.msgIds.add(id);
      },
    });
  }

  close(): void {
    this.sub.unsubscribe();
  }
}

/** The budget service's account of one run (`pw.budget.status`, scope `run`). */
export async function runBudget(nc: NatsConnection, runId: string): Promise<BudgetStatus> {
  const reply = await nc.request(subjects.budget.status, JSON.stringify({ schemaVersion: SCHEMA_VERSION, scope: 'run', id: runId }), { timeout: 5_000 });
  const parsed = BudgetStatusReply.parse(reply.json());
  if (parsed.outcome !== 'status') throw new Error(`budget status of ${runId}: ${JSON.stringify(parsed)}`);
  return parsed;
}

/**
 * The budget's account of each run, polled until `done` holds for all of them or `timeoutMs` passes;
 * resolves with the last answers either way, for the test to assert on with a message that says what
 * was still wrong (a timeout error would say only that the wait ran out).
 */
export async function budgetsOnceSettled(nc: NatsConnection, runIds: readonly string[], done: (s: BudgetStatus) => boolean, timeoutMs: number): Promise<BudgetStatus[]> {
  let last: BudgetStatus[] = [];
  try {
    await waitFor('the budget to settle', async () => {
      last = await Promise.all(runIds.map((r) => runBudget(nc, r)));
      return last.every(done) ? last : undefined;
    }, { timeoutMs, intervalMs: 500 });
  } catch (err) {
    if (!(err instanceof WaitTimeoutError)) throw err;
  }
  return last;
}

/** One line of figures for a test's log: `[core] <name> k=v k=v …`. */
export function figures(name: string, values: Record<string, number | string>): void {
  console.log(`[core] ${name} ${Object.entries(values).map(([k, v]) => `${k}=${v}`).join(' ')}`);
}
