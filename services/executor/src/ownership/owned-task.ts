import type { JetStreamClient } from '@nats-io/jetstream';
import { msgIds, SCHEMA_VERSION, subjects, type Spend, type StepCompleted, type StepFailed, type StepParked, type TaskSpent } from '@pipewright/contracts';
import { ACK, publishJson, type MessageContext, type Outcome } from '@pipewright/kit';
import { acquire, finish, type LeaseDeps, type TaskOf } from './lease.js';
import { deliverySeq } from './lease-step.js';
import type { Revocations } from './revocations.js';

export interface OwnedTaskDeps extends LeaseDeps {
  js: JetStreamClient;
  revocations: Revocations;
  onSkipped?: (why: string) => void;
}

/** What the task's work came to. */
export type WorkResult =
  | { kind: 'final'; entry: StepCompleted | StepFailed }
  /** Nothing can run now (every model down, the budget unreachable): hand the lease and the message back. */
  | { kind: 'park'; entry: StepParked; delayMs: number }
  /** Shutdown, a revocation, or an outcome not known yet: no result; the message goes back to the stream. */
  | { kind: 'handback'; delayMs: number; reason: string; spend: Spend[] };

export interface Work {
  /** Aborted on shutdown or when the planner revokes the task. */
  signal: AbortSignal;
  /** Whether this delivery took the task over from an owner that died (its call's outcome is unknown). */
  takeover: { from: string; why: string } | undefined;
  /** Why the signal fired: `revoked` when the run ended, `shutdown` otherwise. */
  abortedBy(): 'revoked' | 'shutdown' | undefined;
  /**
   * Whether this delivery still holds its lease. Free unless this process's connection dropped since the
   * lease was taken (peers may then have seen it gone and taken the task over); then the task's log
   * says. Checked before every paid call. Rejects when the log cannot be read.
   */
  stillOwned(): Promise<boolean>;
}

/** How long a delivery that found the task held by a live delivery waits before looking again. */
const WAIT_BASE_MS = 2_000;
const WAIT_CAP_MS = 30_000;

/**
 * Runs one delivery of a task under its lease: take the lease (or learn why not), do the work with a
 * signal that fires on shutdown or revocation, append the outcome to the task's log (fenced by the
 * lease), and map it to ack / nak. A result appended is the task's checkpoint: a later delivery finds
 * it and does nothing. Spending of a delivery that lost its task still reaches the budget (`task.spent`).
 */
export async function runOwned(deps: OwnedTaskDeps, t: TaskOf, ctx: MessageContext, mayBeHeld: boolean, work: (w: Work) => Promise<WorkResult>): Promise<Outcome> {
  let confirmedEpoch = deps.watch.epoch;
  const got = await acquire(deps, t, { id: ctx.delivery, ackSubject: ctx.ackSubject, mayBeHeld });
  if (got.kind === 'skip') {
    ctx.span.setAttribute('pw.task.skipped', got.why);
    ctx.log.info({ runId: t.runId, stepId: t.stepId, why: got.why }, 'task not run');
    deps.onSkipped?.(got.why);
    return ACK;
  }
  if (got.kind === 'wait') {
    const delayMs = waitDelayMs(ctx.deliveryCount);
    ctx.log.info({ runId: t.runId, stepId: t.stepId, why: got.why, delayMs }, 'task held elsewhere; looking again later');
    return { kind: 'wait', delayMs, reason: got.why };
  }
  const delivery = ctx.delivery;
  const leaseSeq = got.seq;
  const stillOwned = async (): Promise<boolean> => {
    const epoch = deps.watch.epoch;
    if (epoch === confirmedEpoch) return true;
    const last = await deps.taskLog.last(t.runId, got.task);
    if (last?.seq !== leaseSeq) return false;
    confirmedEpoch = epoch;
    return true;
  };
  const writer = `${deps.registry.owner}:${delivery}`;
  ctx.span.setAttributes({ 'pw.task.id': got.task, 'pw.task.lease_seq': got.seq, ...(got.takeover ? { 'pw.task.takeover_from': got.takeover.from } : {}) });
  const revocation = deps.revocations.track(t.runId, got.task);
  const controller = new AbortController();
  const onShutdown = () => controller.abort(ctx.signal.reason);
  const onRevoked = () => controller.abort(revocation.signal.reason);
  ctx.signal.addEventListener('abort', onShutdown, { once: true });
  revocation.signal.addEventListener('abort', onRevoked, { once: true });
  // Revoked before its work was tracked (see Revocations.track): no abort event will come.
  if (revocation.signal.aborted) onRevoked();
  let result: WorkResult;
  try {
    result = await work({
      signal: controller.signal,
      takeover: got.takeover,
      abortedBy: () => (revocation.signal.aborted ? 'revoked' : ctx.signal.aborted ? 'shutdown' : undefined),
      stillOwned,
    });
  } catch (err) {
    deps.registry.release(t.runId, got.task, delivery);
    throw err;
  } finally {
    revocation.done();
    ctx.signal.removeEventListener('abort', onShutdown);
    revocation.signal.removeEventListener('abort', onRevoked);
  }
  try {
    if (result.kind === 'handback') {
      await reportLostSpend(deps, t, got.task, result.spend);
      return { kind: 'retry', delayMs: result.delayMs, reason: result.reason };
    }
    const done = await finish(deps, result.entry, got.seq, writer);
    if (done.kind === 'lost') {
      ctx.log.warn({ runId: t.runId, stepId: t.stepId, why: done.why }, 'the task was lost while it ran: its outcome is dropped');
      await reportLostSpend(deps, t, got.task, result.entry.spend ?? []);
      // Acknowledge only when nothing can depend on this message any more: the task has its result, or
      // another message holds it. An ack names the stream sequence, so it would also settle a copy of
      // this message that another delivery holds (or that a park is waiting to get back), and the task
      // would be left with no message to finish it. Otherwise hand it back; a later delivery looks again.
      const over = done.last === 'step.completed' || done.last === 'step.failed';
      const otherMessage = done.heldBy !== undefined && deliverySeq(done.heldBy) !== ctx.seq;
      return over || otherMessage ? ACK : { kind: 'retry', delayMs: waitDelayMs(ctx.deliveryCount), reason: done.why };
    }
    // A park hands the lease back and the message is tried again later, unless the run ended meanwhile.
    if (result.kind === 'park' && done.type === 'step.parked') return { kind: 'wait', delayMs: result.delayMs, reason: result.entry.reason };
    return ACK;
  } finally {
    deps.registry.release(t.runId, got.task, delivery);
  }
}

/** A jittered, growing pause before a delivery that found its task held looks again. */
function waitDelayMs(deliveryCount: number): number {
  return Math.round(Math.random() * Math.min(WAIT_CAP_MS, WAIT_BASE_MS * 2 ** Math.min(10, deliveryCount - 1))) + 250;
}

/** Spending that no result will carry (the lease was lost, or the delivery handed back): the budget books it from here. */
async function reportLostSpend(deps: OwnedTaskDeps, t: TaskOf, task: string, spend: Spend[]): Promise<void> {
  if (spend.length === 0) return;
  const event: TaskSpent = {
    schemaVersion: SCHEMA_VERSION,
    type: 'task.spent',
    runId: t.runId,
    stepId: t.stepId,
    attempt: t.attempt,
    task: t.kind,
    ...(t.turn !== undefined ? { turn: t.turn } : {}),
    owner: deps.registry.owner,
    spend,
    at: new Date().toISOString(),
  };
  const ids = spend.map((s) => s.reservationId).join(',');
  await publishJson(deps.js, subjects.taskSpent(t.runId, task), event, { msgId: msgIds.taskEntry(t.runId, task, 'task.spent', `${deps.registry.owner}:${ids.length > 200 ? ids.slice(-200) : ids}`) });
}
