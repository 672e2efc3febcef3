import { SCHEMA_VERSION, schemaValidator, signalPayloadProblem, subjects, TERMINAL_STATUSES, type RunDeadlineTimer, type SignalRequest, type SignalStep, type StepState } from '@pipewright/contracts';
import type { Builder, Transition } from './builder.js';
import type { PlannerEvent } from './events.js';
import { stepTimerMsgId } from './timers.js';

/** Signals kept on a run before a step waits for them: at most this many names (the latest of each). */
export const MAX_KEPT_SIGNALS = 32;
/** Signal ids remembered per run, so that one delivered again (past the dedupe window) has one effect. */
const SIGNAL_IDS_KEPT = 64;

type TimeoutEvent = Extract<PlannerEvent, { type: 'step.timeout' }>;

/** The name a `signal` step waits for: its `signal`, else its id. */
export const signalNameOf = (step: SignalStep): string => step.signal ?? step.id;

/**
 * Starts a `signal` step: a signal of its name kept on the run (sent before the run got here) is taken
 * at once; otherwise the step waits (`dispatched`, no task), with a step timer when it has `timeoutMs`
 * (without one, the run's deadline bounds the wait). Never ends the run.
 */
export function startSignal(b: Builder, step: SignalStep): boolean {
  const s = b.state;
  const { error: _error, signal: _signal, finishedAt: _finished, output: _output, ...prev }: StepState = s.steps[step.id] ?? { status: 'pending', attempt: 0 };
  const attempt = prev.attempt + 1;
  const name = signalNameOf(step);
  s.dispatches += 1;
  const kept = s.signals?.[name];
  if (kept) {
    const { [name]: _taken, ...rest } = s.signals!;
    s.signals = rest;
    const issues = payloadIssues(step, kept.payload);
    if (issues.length === 0) {
      s.steps[step.id] = { ...prev, status: 'succeeded', attempt, dispatchedAt: b.at, finishedAt: b.at, output: kept.payload };
      b.decide('take-signal', [step.id], `step ${step.id} took signal ${name}, sent by ${kept.by} at ${kept.at} before the step waited for it`);
      return true;
    }
    b.decide('refuse-signal', [step.id], `signal ${name} from ${kept.by}, kept since ${kept.at}, dropped: its payload does not match step ${step.id}'s output schema (${describe(issues)}); the step waits for another`);
  }
  const until = step.timeoutMs !== undefined ? new Date(b.now.getTime() + step.timeoutMs).toISOString() : undefined;
  s.steps[step.id] = { ...prev, status: 'dispatched', attempt, dispatchedAt: b.at, signal: { name, since: b.at, ...(until ? { until } : {}) } };
  if (until) {
    const timer: RunDeadlineTimer = { schemaVersion: SCHEMA_VERSION, runId: s.runId, deadlineAt: until, step: { stepId: step.id, attempt } };
    b.send(subjects.runDeadline, stepTimerMsgId(s.runId, step.id, attempt), timer);
  }
  b.decide('wait-signal', [step.id], `step ${step.id} waits for signal ${name} ${until ? `until ${until} (timeoutMs ${step.timeoutMs}, then ${step.onTimeout})` : `until the run's deadline ${s.deadlineAt}`}`);
  return true;
}

/**
 * A signal for a live run: every step waiting for its name whose output schema the payload satisfies
 * takes it (the step succeeds with the payload as its output); a payload a waiting step's schema refuses,
 * an oversized payload, or a name no step of the pipeline waits for is refused (a decision, the steps
 * wait on). With no step waiting yet, the signal is kept on the run (the latest of each name) for the
 * step that will. A signal id seen before changes nothing.
 */
export function onSignal(b: Builder, req: SignalRequest): Transition {
  const s = b.state;
  if (s.signalIds?.includes(req.signalId)) return { kind: 'unchanged', reason: `signal ${req.signalId} was applied already` };
  s.signalIds = [...(s.signalIds ?? []), req.signalId].slice(-SIGNAL_IDS_KEPT);
  const what = `signal ${req.name} (${req.signalId}) from ${req.by}`;
  const refuse = (stepIds: string[], why: string): Transition => {
    b.decide('refuse-signal', stepIds, `${what} refused: ${why}`);
    return b.done();
  };
  const problem = signalPayloadProblem(req.payload);
  if (problem) return refuse([], problem);
  const steps = s.pipeline.steps.filter((st): st is SignalStep => st.kind === 'signal' && signalNameOf(st) === req.name);
  if (steps.length === 0) return refuse([], `no signal step of pipeline ${s.pipeline.name} waits for "${req.name}"`);
  const waiting = steps.filter((st) => s.steps[st.id]?.status === 'dispatched' && s.steps[st.id]?.signal !== undefined);
  if (waiting.length === 0) {
    const kept = { ...(s.signals ?? {}) };
    const replaces = kept[req.name] !== undefined;
    if (!replaces && Object.keys(kept).length >= MAX_KEPT_SIGNALS) return refuse([], `the run already keeps ${MAX_KEPT_SIGNALS} signals that no step has taken`);
    kept[req.name] = { payload: req.payload ?? null, at: b.at, by: req.by };
    s.signals = kept;
    b.decide('keep-signal', [], `${what} kept: no step waits for it yet${replaces ? ' (it replaces the one kept before)' : ''}`);
    return b.done();
  }
  for (const step of waiting) {
    const issues = payloadIssues(step, req.payload ?? null);
    if (issues.length > 0) {
      b.decide('refuse-signal', [step.id], `${what} refused for step ${step.id}: its payload does not match the step's output schema (${describe(issues)}); the step waits on`);
      continue;
    }
    b.completeStep(step.id, { output: req.payload ?? null, signal: undefined }, `step ${step.id} received ${what}`);
    if (TERMINAL_STATUSES.has(s.status)) break;
  }
  return b.done();
}

/**
 * A step timer fired. A `signal` step still waiting on that attempt, past its `until`, fails the run
 * (`onTimeout: fail`) or succeeds with a `null` output (`continue`). A timer that fired early, for an
 * earlier attempt, or for a step that got its signal, changes nothing.
 */
export function onStepTimeout(b: Builder, e: TimeoutEvent): Transition {
  const s = b.state;
  const st = s.steps[e.stepId];
  const spec = s.pipeline.steps.find((x) => x.id === e.stepId);
  if (!st || spec?.kind !== 'signal' || st.status !== 'dispatched' || !st.signal) return { kind: 'unchanged', reason: `step ${e.stepId} does not wait for a signal` };
  if (st.attempt !== e.attempt) return { kind: 'unchanged', reason: `step ${e.stepId} is at attempt ${st.attempt}: the timer of attempt ${e.attempt} is stale` };
  if (!st.signal.until || b.now.getTime() < Date.parse(st.signal.until)) return { kind: 'unchanged', reason: `step ${e.stepId} waits until ${st.signal.until ?? 'the run deadline'}: the timer fired early` };
  const name = st.signal.name;
  const within = `signal ${name} not received within ${spec.timeoutMs} ms`;
  if (spec.onTimeout === 'continue') {
    b.completeStep(e.stepId, { output: null, signal: undefined }, `${within}: step ${e.stepId} goes on with a null output (onTimeout: continue)`);
    return b.done();
  }
  s.steps[e.stepId] = { ...st, status: 'failed', error: { code: 'signal_timeout', message: within, retryable: false }, finishedAt: b.at };
  b.finish('failed', `${within} (guard: timeoutMs)`, [e.stepId]);
  return b.done();
}

/** Why a payload does not fit the step's `output` schema (none: it fits, or the step has no schema). */
function payloadIssues(step: SignalStep, payload: unknown) {
  return step.output ? schemaValidator.validate(step.output, payload, 'payload') : [];
}

const describe = (issues: { path: string; message: string }[]) =>
  issues
    .slice(0, 5)
    .map((i) => `${i.path}: ${i.message}`)
    .join('; ');
