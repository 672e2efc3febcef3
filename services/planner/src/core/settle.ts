import { SCHEMA_VERSION, subjects, taskId, TERMINAL_STATUSES, ZERO_USAGE, type ApprovalDecision, type RunDeadlineTimer, type RunState, type StepRevoked } from '@pipewright/contracts';
import { chargeChild, childKey, stopChildren } from './child.js';
import { spendKey, sumCost, sumUsage } from './spend.js';
import type { Builder, Transition } from './builder.js';
import { partialOutputs } from './builder.js';
import { lifeOf } from './run-limits.js';
import { deadlineTimerMsgId } from './timers.js';
import type { PlannerEvent } from './events.js';

/** How long an ended run waits for its running tasks to report what they spent before it is closed anyway. */
export const SETTLE_TIMEOUT_MS = 30_000;
/**
 * How long a run that ended with child runs going waits for their ends: a cancelled child settles its
 * own tasks first (up to SETTLE_TIMEOUT_MS, and so may its children, three deep at most).
 */
export const CHILD_SETTLE_TIMEOUT_MS = 4 * SETTLE_TIMEOUT_MS;

interface RunningTask {
  task: string;
  stepId: string;
  attempt: number;
  kind: 'llm' | 'agent-turn' | 'tool';
  turn?: number;
}

/** Tasks the run has dispatched that have no result yet: a model call, an agent's turn, or its tool call. */
export function runningTasks(s: RunState): RunningTask[] {
  const out: RunningTask[] = [];
  for (const [stepId, st] of Object.entries(s.steps)) {
    // A step waiting for a signal or a child run has no task (a child is stopped by stopChildren); a map
    // is no task either: its items are.
    if (st.status !== 'dispatched' || st.approval || st.signal || st.child || st.map) continue;
    const a = st.agent;
    if (!a) out.push({ task: taskId({ stepId, attempt: st.attempt }), stepId, attempt: st.attempt, kind: 'llm' });
    else if (a.pendingCall) out.push({ task: taskId({ stepId, attempt: st.attempt, turn: a.turn, tool: true }), stepId, attempt: st.attempt, kind: 'tool', turn: a.turn });
    else if (a.turn > 0) out.push({ task: taskId({ stepId, attempt: st.attempt, turn: a.turn }), stepId, attempt: st.attempt, kind: 'agent-turn', turn: a.turn });
  }
  return out;
}

/**
 * A run that ends with tasks running revokes them and waits (settles) until each has reported: its
 * executor appends the final result with what it spent (the call is aborted), or the revocation finds
 * it not started. Says whether there was anything to wait for.
 */
export function beginSettling(b: Builder): boolean {
  const s = b.state;
  const running = runningTasks(s).filter((r) => r.task !== b.reported);
  // Child runs still going are cancelled; their ends (with what they spent) are awaited like tasks.
  const children = stopChildren(b);
  if (running.length === 0 && children.length === 0) return false;
  const until = new Date(b.now.getTime() + (children.length > 0 ? CHILD_SETTLE_TIMEOUT_MS : SETTLE_TIMEOUT_MS)).toISOString();
  s.settling = { tasks: [...running.map((r) => r.task), ...children], until };
  for (const r of running) {
    const revoked: StepRevoked = {
      schemaVersion: SCHEMA_VERSION,
      type: 'step.revoked',
      runId: s.runId,
      stepId: r.stepId,
      attempt: r.attempt,
      task: r.kind,
      ...(r.turn !== undefined ? { turn: r.turn } : {}),
      reason: `the run ended ${s.status}: ${s.reason ?? ''}`.slice(0, 2_000),
      // Filled in when it is appended: whether a lease was live then (see the applier).
      inFlight: false,
      at: b.at,
    };
    b.append(subjects.taskEvent(s.runId, 'step.revoked', r.task), `${s.runId}:${r.task}:revoke`, revoked);
  }
  // Closes the run at `until` should some task never report (its executor vanished with it).
  const timer: RunDeadlineTimer = { schemaVersion: SCHEMA_VERSION, runId: s.runId, deadlineAt: until };
  b.send(subjects.runDeadline, deadlineTimerMsgId(s.runId, 'settle', lifeOf(s)), timer);
  b.decide('settle', running.map((r) => r.stepId), `waiting for ${s.settling.tasks.length} running task(s) and child run(s) to stop and report what they spent: ${s.settling.tasks.join(', ')}`);
  return true;
}

/** Publishes `run.finished` with the run's result and its whole cost. */
export function emitFinished(b: Builder, unsettled?: number): void {
  const s = b.state;
  const status = s.status;
  const partial = status === 'succeeded' ? undefined : partialOutputs(s);
  delete s.settling;
  b.emit(
    {
      schemaVersion: SCHEMA_VERSION,
      type: 'run.finished',
      runId: s.runId,
      at: b.at,
      status,
      ...(s.output !== undefined ? { output: s.output } : {}),
      ...(partial ? { partial } : {}),
      reason: s.reason ?? status,
      usage: s.usage,
      costUsd: s.costUsd,
      ...(unsettled ? { unsettled } : {}),
      ...(s.parent ? { parent: s.parent } : {}),
      durationMs: Math.max(0, b.now.getTime() - Date.parse(s.createdAt)),
    },
    // Each life of the run ends with its own run.finished (see lifeOf).
    lifeOf(s) === 0 ? 'final' : `final:r${lifeOf(s)}`,
  );
}

/**
 * Events reaching a run that ended. Spending is always added (money that was spent is the run's); a
 * settling run counts its tasks off as they report and publishes `run.finished` with the last one, or
 * at its settle deadline with the number still missing.
 */
export function afterEnd(b: Builder, e: PlannerEvent): Transition {
  const s = b.state;
  if (!TERMINAL_STATUSES.has(s.status)) throw new Error('afterEnd on a live run');
  const settling = s.settling;
  const off = (task: string) => {
    if (!settling) return false;
    const left = settling.tasks.filter((t) => t !== task);
    if (left.length === settling.tasks.length) return false;
    s.settling = { ...settling, tasks: left };
    return true;
  };
  let changed = false;
  switch (e.type) {
    case 'step.completed':
    case 'step.failed': {
      const task = taskId({ stepId: e.stepId, attempt: e.attempt, turn: e.task === 'agent-turn' || e.task === 'tool' ? e.turn : undefined, tool: e.task === 'tool' });
      if (!off(task)) return { kind: 'unchanged', reason: `run already ${s.status}; ${e.type} of ${task} was not awaited` };
      b.charge(e.usage, e.costUsd);
      changed = true;
      break;
    }
    case 'step.revoked':
      // A revocation that found the task running waits for its owner's final result; one that found it
      // not started settles it (nothing was spent).
      if (e.inFlight) return { kind: 'unchanged', reason: `revocation of ${e.stepId} found it running: waiting for its result` };
      changed = off(taskId({ stepId: e.stepId, attempt: e.attempt, turn: e.turn, tool: e.task === 'tool' }));
      break;
    case 'step.parked':
      changed = b.chargeOnce(spendKey(e), e.usage ?? ZERO_USAGE, e.costUsd);
      break;
    case 'task.spent':
      changed = b.chargeOnce(spendKey(e), sumUsage(e.spend), sumCost(e.spend));
      break;
    case 'approval.decided':
      return keepDecision(b, e);
    case 'child.finished':
      // A child's spending is the run's, awaited or not; an awaited one is counted off.
      changed = chargeChild(b, e);
      changed = off(childKey(e.child)) || changed;
      break;
    case 'run.deadline':
      if (settling && b.now.getTime() >= Date.parse(settling.until)) {
        b.decide('settled', [], `settle deadline passed with ${settling.tasks.length} task(s) not reporting: ${settling.tasks.join(', ')}; their spending may be missing`);
        emitFinished(b, settling.tasks.length);
        return b.done();
      }
      return { kind: 'unchanged', reason: `run already ${s.status}` };
    default:
      return { kind: 'unchanged', reason: `run already ${s.status}` };
  }
  if (!changed) return { kind: 'unchanged', reason: `run already ${s.status}` };
  if (s.settling && s.settling.tasks.length === 0) {
    b.decide('settled', [], 'every running task has reported what it spent');
    emitFinished(b);
  }
  return b.done();
}

/**
 * A person decided on an approval of a run that has stopped: the decision is kept on the step it
 * holds, and applied if the run is resumed (the approver sends a decision once; without this, a run
 * resumed after its deadline passed while a person was deciding would wait for a decision made already).
 */
function keepDecision(b: Builder, e: ApprovalDecision): Transition {
  const st = b.state.steps[e.stepId];
  const pending = st?.approval;
  if (!st || !pending || pending.approvalId !== e.approvalId || pending.decided)
    return { kind: 'unchanged', reason: `run already ${b.state.status}; approval ${e.approvalId} ${e.decision}: step ${e.stepId} is not waiting for it` };
  b.state.steps[e.stepId] = { ...st, approval: { ...pending, decided: e } };
  b.decide('keep-decision', [e.stepId], `approval ${e.approvalId} ${e.decision} by ${e.by} after the run ended ${b.state.status}: kept for a resume`);
  return b.done();
}
