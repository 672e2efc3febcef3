import type { NatsConnection } from '@nats-io/transport-node';
import { SCHEMA_VERSION, taskIdOf, ZERO_USAGE, type StepFailed, type StepStarted, type TaskKind } from '@pipewright/contracts';
import type { Logger, TaskLog, TaskLogEntry } from '@pipewright/kit';
import { confirmGone } from './ask.js';
import type { ConnectionWatch } from './connection-watch.js';
import { afterAsk, leaseStep, type Claimant } from './lease-step.js';
import type { HoldRegistry } from './registry.js';

export interface LeaseDeps {
  nc: NatsConnection;
  /** This process's connection history (see ConnectionWatch). */
  watch: ConnectionWatch;
  taskLog: TaskLog;
  registry: HoldRegistry;
  log: Logger;
  /** How long a ping of another owner waits before the owner counts as slow (not dead). */
  pingTimeoutMs: number;
}

/** The task a command names. */
export interface TaskOf {
  runId: string;
  stepId: string;
  attempt: number;
  kind: TaskKind;
  turn?: number | undefined;
}

/** The delivery being handled. */
export interface Delivery {
  /** Its unique id (MessageContext.delivery): `s<seq>d<count>` and a random suffix. */
  id: string;
  ackSubject: string;
  /** The planner re-published the command, or this is a redelivery: another delivery may hold the task. */
  mayBeHeld: boolean;
}

export type Acquired =
  | { kind: 'owned'; task: string; seq: number; takeover?: { from: string; why: string } }
  /** Nothing to run: the task has its result, was revoked, or another message holds it. */
  | { kind: 'skip'; why: string }
  /** Another delivery may still be working on it: hand this one back and look again later. */
  | { kind: 'wait'; why: string };

/** How long a result is retried while the server cannot be reached (the consume loop heartbeats its message meanwhile). */
const RESULT_RETRY_MS = 30_000;

/** Conflicting appends in a row before the delivery is handed back (someone else is busy on the log). */
const MAX_ROUNDS = 4;

/**
 * Takes the task's lease for this delivery, or says why not. A first delivery of a fresh command (the
 * common case) appends its lease expecting an empty log, with its registry hold written at the same
 * time: one round trip. Anything else reads the log first (lease-step.ts decides).
 */
export async function acquire(deps: LeaseDeps, t: TaskOf, d: Delivery): Promise<Acquired> {
  try {
    return await take(deps, t, d);
  } catch (err) {
    // What was recorded as worked on must not outlive a failed attempt: a ping would answer "holding".
    deps.registry.release(t.runId, taskIdOf(t), d.id);
    throw err;
  }
}

async function take(deps: LeaseDeps, t: TaskOf, d: Delivery): Promise<Acquired> {
  const task = taskIdOf(t);
  const me: Claimant = { owner: deps.registry.owner, delivery: d.id };
  const writer = `${me.owner}:${me.delivery}`;
  const lease = (takeover?: { from: string; why: string }): StepStarted => ({
    schemaVersion: SCHEMA_VERSION,
    type: 'step.started',
    runId: t.runId,
    stepId: t.stepId,
    attempt: t.attempt,
    task: t.kind,
    ...(t.turn !== undefined ? { turn: t.turn } : {}),
    owner: me.owner,
    delivery: me.delivery,
    ...(takeover ? { takeover } : {}),
    at: new Date().toISOString(),
  });
  // Working on the task (what a ping answers) from the first append on; the message is listed in the
  // registry since its delivery, and that write must be stored before the model may be called.
  deps.registry.work(t.runId, task, me.delivery);
  const hold = () => deps.registry.stored(d.ackSubject);
  const release = () => deps.registry.release(t.runId, task, me.delivery);

  if (!d.mayBeHeld) {
    const [r] = await Promise.all([deps.taskLog.append(lease(), 0, { writer }), hold()]);
    if (r.ok) return { kind: 'owned', task, seq: r.seq };
  }
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const step = leaseStep(await deps.taskLog.last(t.runId, task), me);
    switch (step.kind) {
      case 'mine':
        await hold();
        return { kind: 'owned', task, seq: step.seq };
      case 'done':
        release();
        return { kind: 'skip', why: step.why };
      case 'take': {
        const [r] = await Promise.all([deps.taskLog.append(lease(), step.expectSeq, { writer }), hold()]);
        if (r.ok) return { kind: 'owned', task, seq: r.seq };
        continue;
      }
      case 'close': {
        // The run ended while a lease was live and its owner is gone without a word: close the task so
        // the planner can settle the run (nothing this delivery spent; the owner's spending is unknown).
        const r = await deps.taskLog.append(closing(t, me.owner, step.why), step.expectSeq, { writer });
        if (!r.ok) continue;
        release();
        return { kind: 'skip', why: step.why };
      }
      case 'ask': {
        // This process's own lease of another delivery: no need to ask over the bus.
        const answer =
          step.owner === me.owner
            ? deps.registry.holdsElsewhere(t.runId, task, me.delivery)
              ? 'holding'
              : 'not-holding'
            : await confirmGone(deps.nc, deps.watch, step.owner, deps.pingTimeoutMs, { runId: t.runId, task });
        const next = afterAsk(step, answer);
        if (next.kind !== 'take') {
          release();
          return next.kind === 'drop' ? { kind: 'skip', why: next.why } : next;
        }
        const [r] = await Promise.all([deps.taskLog.append(lease(next.takeover), next.expectSeq, { writer }), hold()]);
        if (r.ok) {
          deps.log.warn({ runId: t.runId, task, from: next.takeover.from, why: next.takeover.why }, 'took over a task');
          return { kind: 'owned', task, seq: r.seq, takeover: next.takeover };
        }
        continue;
      }
    }
  }
  release();
  return { kind: 'wait', why: `the task's log kept changing (${MAX_ROUNDS} conflicting appends)` };
}

export type Finished =
  | { kind: 'appended'; seq: number; type: TaskLogEntry['type'] }
  /**
   * The task's log moved on: `last` is the type of its last entry, and `heldBy` the delivery whose
   * lease that is, when it is one.
   */
  | { kind: 'lost'; why: string; last?: TaskLogEntry['type']; heldBy?: string };

/**
 * Appends the delivery's outcome (a result, or a park that hands the lease back) after its lease. If the
 * log moved on: a revocation is answered with the outcome all the same (the planner settles the run's
 * cost from it; a park becomes a failure, the run being over); a result already there or another
 * owner's lease means this delivery lost the task.
 */
export async function finish(deps: LeaseDeps, entry: TaskLogEntry, leaseSeq: number, writer: string): Promise<Finished> {
  // The call is done and paid for: keep trying to record it through a server restart rather than hand
  // the command back, which would call the model again.
  const r = await deps.taskLog.append(entry, leaseSeq, { writer, retryForMs: RESULT_RETRY_MS });
  if (r.ok) return { kind: 'appended', seq: r.seq, type: entry.type };
  const last = await deps.taskLog.last(entry.runId, taskIdOf(entry));
  // Our own append, landed although its reply was lost (the server checks the sequence before the msg id).
  if (last && sameEntry(last.entry, entry)) return { kind: 'appended', seq: last.seq, type: entry.type };
  if (last?.entry.type === 'step.revoked' && last.seq > leaseSeq) {
    const final = entry.type === 'step.parked' ? parkedToFailed(entry, last.entry.reason) : entry;
    const again = await deps.taskLog.append(final, last.seq, { writer });
    if (again.ok) return { kind: 'appended', seq: again.seq, type: final.type };
  }
  if (last?.entry.type === 'step.started') return { kind: 'lost', why: `the task's log moved on (a lease by ${last.entry.owner})`, last: 'step.started', heldBy: last.entry.delivery };
  return last ? { kind: 'lost', why: `the task's log moved on (${last.entry.type})`, last: last.entry.type } : { kind: 'lost', why: 'the task log is empty' };
}

/** Whether a logged entry is the one this delivery appended: the same kind, by the same owner, at the same instant. */
function sameEntry(logged: TaskLogEntry, mine: TaskLogEntry): boolean {
  return logged.type === mine.type && logged.at === mine.at && 'owner' in logged && 'owner' in mine && logged.owner === mine.owner;
}

function parkedToFailed(p: Extract<TaskLogEntry, { type: 'step.parked' }>, reason: string): StepFailed {
  return {
    schemaVersion: SCHEMA_VERSION,
    type: 'step.failed',
    runId: p.runId,
    stepId: p.stepId,
    attempt: p.attempt,
    task: p.turn !== undefined ? 'agent-turn' : 'llm',
    ...(p.turn !== undefined ? { turn: p.turn } : {}),
    calls: 0,
    usage: p.usage ?? { ...ZERO_USAGE },
    ...(p.costUsd !== undefined ? { costUsd: p.costUsd } : {}),
    ...(p.spend ? { spend: p.spend } : {}),
    ...(p.owner ? { owner: p.owner } : {}),
    error: { code: 'revoked', message: `the run ended: ${reason}`, retryable: false },
    latencyMs: 0,
    at: new Date().toISOString(),
  };
}

function closing(t: TaskOf, owner: string, why: string): StepFailed {
  return {
    schemaVersion: SCHEMA_VERSION,
    type: 'step.failed',
    runId: t.runId,
    stepId: t.stepId,
    attempt: t.attempt,
    task: t.kind,
    ...(t.turn !== undefined ? { turn: t.turn } : {}),
    calls: 0,
    usage: { ...ZERO_USAGE },
    owner,
    error: { code: 'revoked', message: why, retryable: false },
    latencyMs: 0,
    at: new Date().toISOString(),
  };
}
