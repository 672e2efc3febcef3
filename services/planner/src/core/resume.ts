import { RESUMABLE_STATUSES, SCHEMA_VERSION, subjects, TERMINAL_STATUSES, type ApprovalDecision, type RunDeadlineTimer, type RunState } from '@pipewright/contracts';
import { agentStep, dispatchTool } from './agent.js';
import { onApprovalDecided } from './approval.js';
import { Builder, type Transition } from './builder.js';
import type { PlannerEvent } from './events.js';
import { deadlineMsOf, maxStepsOf } from './run-limits.js';
import { deadlineTimerMsgId } from './timers.js';

/** Resume ids remembered per run: a resume delivered again finds its id among the latest. */
const RESUME_IDS_KEPT = 64;

type ResumeEvent = Extract<PlannerEvent, { type: 'run.resume' }>;

/**
 * Resumes a stopped run (failed, timed_out, budget_exhausted, cancelled) from where it stopped:
 *
 * - steps that succeeded keep their outputs;
 * - steps that failed, were stopped mid-flight (revoked) or never ran are pending again and are
 *   dispatched as their next attempt (a new task: a fresh log, lease and model-call key). An agent step
 *   takes the turn it was on again with its history; a tool call it had in flight is sent again as it
 *   was (its idempotency key unchanged, so a tool with receipts does not repeat the effect);
 * - steps waiting for a person keep waiting; a decision that arrived while the run was stopped is
 *   applied now;
 * - the run is `running` again with a new deadline (now + `limits.deadlineMs`, else the run's), the
 *   request's budget replacing the run's limits of the same name, and `limits.maxSteps` if given.
 *
 * Idempotent by `resumeId`. A resume of a run that is running, succeeded or unknown changes nothing;
 * one of a run that ended but still settles (its tasks reporting what they spent) waits for it.
 */
export function resume(current: RunState | undefined, event: ResumeEvent, now: Date): Transition {
  const req = event.request;
  if (!current) return { kind: 'unchanged', reason: `no run ${event.runId} to resume (never submitted, or removed by retention)`, noRun: true };
  if (current.resumes?.ids.includes(req.resumeId)) return { kind: 'unchanged', reason: `resume ${req.resumeId} of run ${current.runId} was applied already` };
  if (!RESUMABLE_STATUSES.has(current.status))
    return { kind: 'unchanged', reason: `run ${current.runId} is ${current.status}: only a failed, timed_out, budget_exhausted or cancelled run can be resumed` };
  if (current.settling) return { kind: 'unchanged', reason: `run ${current.runId} ended ${current.status} and still settles: the resume waits for it`, wait: true };

  const b = new Builder(current, now, 'run.resume');
  const s = b.state;
  const from = s.status;
  if (req.budget) s.budget = { ...s.budget, ...req.budget };
  if (req.limits) s.limits = { ...s.limits, ...req.limits };
  s.deadlineAt = new Date(now.getTime() + deadlineMsOf(s)).toISOString();
  s.status = 'running';
  delete s.reason;
  delete s.finishedAt;
  delete s.output;
  const life = (s.resumes?.count ?? 0) + 1;
  s.resumes = { count: life, at: b.at, ids: [...(s.resumes?.ids ?? []), req.resumeId].slice(-RESUME_IDS_KEPT) };

  const again: string[] = [];
  const held: string[] = [];
  const late: ApprovalDecision[] = [];
  // The pipeline's steps, then the items of a map that stopped midway (those that succeeded keep their outputs).
  for (const id of Object.keys(s.steps)) {
    const st = s.steps[id];
    if (!st || st.status === 'succeeded' || st.status === 'skipped') continue;
    if (st.approval) {
      held.push(id);
      const { decided, ...waiting } = st.approval;
      if (decided) {
        late.push(decided);
        s.steps[id] = { ...st, approval: waiting };
      }
      continue;
    }
    const { error: _error, finishedAt: _finished, parkedAt: _parked, ...kept } = st;
    s.steps[id] = { ...kept, status: 'pending', ...(kept.agent ? { agent: withoutUnansweredCall(kept.agent) } : {}) };
    again.push(id);
  }
  b.settleApprovals();
  b.emit(
    {
      schemaVersion: SCHEMA_VERSION,
      type: 'run.resumed',
      runId: s.runId,
      at: b.at,
      resumeId: req.resumeId,
      from,
      steps: again,
      reason: req.reason,
      deadlineAt: s.deadlineAt,
      budget: s.budget,
      maxSteps: maxStepsOf(s),
    },
    req.resumeId,
  );
  const waiting = held.length > 0 ? `; ${held.join(', ')} ${late.length > 0 ? `held for approval (${late.length} decided while stopped)` : 'still wait for approval'}` : '';
  b.decide('resume', again, `resumed from ${from} (${req.reason}): ${again.length > 0 ? `${again.join(', ')} run again` : 'no step to run again'}${waiting}`);
  const timer: RunDeadlineTimer = { schemaVersion: SCHEMA_VERSION, runId: s.runId, deadlineAt: s.deadlineAt };
  b.send(subjects.runDeadline, deadlineTimerMsgId(s.runId, 0, life), timer);

  for (const id of again) {
    // An agent's tool call that was in flight when the run stopped: sent again as it was, not re-asked.
    const st = s.steps[id]!;
    const call = st.agent?.pendingCall;
    const step = agentStep(b, id);
    if (!call || !step) continue;
    s.steps[id] = { ...st, status: 'dispatched', attempt: st.attempt + 1, dispatchedAt: b.at };
    dispatchTool(b, step, call);
    if (TERMINAL_STATUSES.has(s.status)) return b.done();
  }
  for (const d of late) {
    onApprovalDecided(b, d);
    if (TERMINAL_STATUSES.has(s.status)) return b.done();
  }
  b.advance();
  return b.done();
}

type AgentState = NonNullable<RunState['steps'][string]['agent']>;

/**
 * The loop as the turn it is on is asked again: a tool call the turn proposed that never ran (the run
 * stopped on a guard, such as repeatLimit, before sending it) leaves the history, since a model may not
 * be shown a call without its result; the repeated turn answers anew. A call in flight is kept (sent again).
 */
function withoutUnansweredCall(agent: AgentState): AgentState {
  const last = agent.history.at(-1);
  if (agent.pendingCall || last?.role !== 'assistant' || !last.toolCalls?.length) return agent;
  return { ...agent, history: agent.history.slice(0, -1) };
}
