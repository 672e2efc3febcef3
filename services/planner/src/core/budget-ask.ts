import {
  schemaValidator,
  stepSpecOf,
  type ApprovalDecision,
  type BudgetLimits,
  type EffectiveApproval,
  type ErrorInfo,
  type PendingApproval,
  type PipelineSpec,
  type StepFailed,
} from '@pipewright/contracts';
import { approvalIds } from './approval-policy.js';
import { requestApproval } from './approval-request.js';
import type { Builder, Transition } from './builder.js';
import { maxStepsOf } from './run-limits.js';

/**
 * `budget.onExceeded: ask`: when a model call is denied by one of the run's own limits, the step is
 * held and a person is asked (through the approver) for a higher limit instead of the run ending.
 *
 * The proposal: twice the limit that was reached (`maxUsd` → 2 × maxUsd, `maxTokens` → 2 × maxTokens);
 * the other limit stays. The person may approve it, edit it (any amount above the limit in force, for
 * any limit the run has), or reject it. Approved or edited: the run's limits are raised (never lowered)
 * and the step is dispatched again as its next attempt (an agent step takes the same turn again);
 * rejected (or timed out): the run ends `budget_exhausted` with its partial result.
 *
 * Only the run's limits can be raised this way: a denial by a pipeline or tenant window, or for a model
 * without a price, ends the run as before.
 */

type LimitKey = 'maxUsd' | 'maxTokens';
type BudgetHold = NonNullable<PendingApproval['budget']>;

/** The run limit a `budget_exceeded` error names (`budget run.maxUsd: …`, from the executor's budget gate), if any. */
export function exceededRunLimit(error: ErrorInfo): LimitKey | undefined {
  const m = /^budget run\.(maxUsd|maxTokens):/.exec(error.message);
  return m ? (m[1] as LimitKey) : undefined;
}

/** The rule: twice the limit that was reached. */
export function proposeLimits(current: BudgetLimits, exceeded: LimitKey): BudgetLimits {
  const limit = current[exceeded];
  if (limit === undefined) return {};
  return exceeded === 'maxUsd' ? { maxUsd: limit * 2 } : { maxTokens: limit * 2 };
}

/** JSON Schema of an edit: new values for the limits the run has, each above its value now; the one reached is required. */
export function limitsSchema(current: BudgetLimits, exceeded: LimitKey): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  if (current.maxUsd !== undefined)
    properties['maxUsd'] = { type: 'number', exclusiveMinimum: current.maxUsd, description: `the run's new limit in USD (now ${usd(current.maxUsd)})` };
  if (current.maxTokens !== undefined)
    properties['maxTokens'] = { type: 'integer', exclusiveMinimum: current.maxTokens, description: `the run's new limit in tokens (now ${current.maxTokens})` };
  return { type: 'object', properties, required: [exceeded], additionalProperties: false };
}

/**
 * How long a request for more budget waits: `budget.askTimeoutMs`, else the timeout of the pipeline's
 * `defaults.approval` (escalating if that policy escalates), else for ever. A timeout never approves
 * money: `onTimeout: approve` of the defaults becomes `reject` here.
 */
export function askPolicy(spec: PipelineSpec): EffectiveApproval {
  const base = { always: false, tools: [] as string[] };
  if (spec.budget.askTimeoutMs !== undefined) return { ...base, timeoutMs: spec.budget.askTimeoutMs, onTimeout: 'reject' };
  const d = spec.defaults.approval === false ? undefined : spec.defaults.approval;
  if (d?.timeoutMs === undefined) return { ...base, onTimeout: 'reject' };
  if (d.onTimeout === 'escalate' && d.escalation) return { ...base, timeoutMs: d.timeoutMs, onTimeout: 'escalate', escalation: d.escalation };
  return { ...base, timeoutMs: d.timeoutMs, onTimeout: 'reject' };
}

/**
 * A step failed with `budget_exceeded`. With `onExceeded: ask` and a run limit reached, holds the step
 * and requests more budget; says whether it did, or why not (for the run's reason).
 */
export function askForBudget(b: Builder, event: StepFailed): { asked: true } | { asked: false; note?: string } {
  const s = b.state;
  if (s.pipeline.budget.onExceeded !== 'ask') return { asked: false };
  const exceeded = exceededRunLimit(event.error);
  const spec = stepSpecOf(s.pipeline, event.stepId);
  const st = s.steps[event.stepId];
  if (!exceeded || s.budget[exceeded] === undefined) return { asked: false, note: 'budget.onExceeded ask raises only the run\'s own limits' };
  if (!spec || !st) return { asked: false };
  if (s.dispatches + 1 > maxStepsOf(s)) return { asked: false, note: `no dispatch left under limits.maxSteps ${maxStepsOf(s)} to run it again` };

  const current: BudgetLimits = { ...s.budget };
  const proposed = proposeLimits(current, exceeded);
  const spentTokens = s.usage.totalTokens;
  const hold: BudgetHold = { exceeded, current, proposed, error: event.error };
  const now = exceeded === 'maxUsd' ? usd(current.maxUsd!) : `${current.maxTokens} tokens`;
  const then = exceeded === 'maxUsd' ? usd(proposed.maxUsd!) : `${proposed.maxTokens} tokens`;
  const reason = `step ${spec.id}: ${event.error.message} (spent so far: ${usd(s.costUsd)}, ${spentTokens} tokens); raise run ${exceeded} from ${now} to ${then}? (budget.onExceeded: ask)`;
  // The step stays dispatched (its work is not done) and keeps the denial; nothing runs until a decision.
  s.steps[spec.id] = { ...st, calls: event.calls, error: event.error, parkedAt: undefined };
  requestApproval(
    b,
    spec,
    approvalIds.budget(s.runId, spec.id, st.attempt),
    { policy: askPolicy(s.pipeline), reasons: [reason], costSoFarUsd: s.costUsd },
    { kind: 'budget', ask: { exceeded, current, spentUsd: s.costUsd, spentTokens }, pending: hold, argumentsSchema: limitsSchema(current, exceeded) },
    undefined,
  );
  b.resumeIfUnparked();
  return { asked: true };
}

/** A person decided on more budget (see the top of this file). `verdict` is the decision in words. */
export function onBudgetDecided(b: Builder, e: ApprovalDecision, pending: PendingApproval, verdict: string): Transition {
  const hold = pending.budget;
  const spec = stepSpecOf(b.state.pipeline, e.stepId);
  if (!hold || !spec) {
    b.finish('failed', `step ${e.stepId}: approval ${e.approvalId} holds no budget request (planner state is inconsistent)`, [e.stepId]);
    return b.done();
  }
  if (e.decision === 'rejected') return exhaust(b, e.stepId, hold.error, `more budget refused: approval ${e.approvalId} ${verdict}`);
  let granted = hold.proposed;
  if (e.decision === 'edited') {
    const issues = schemaValidator.validate(limitsSchema(hold.current, hold.exceeded), e.arguments, 'arguments');
    if (issues.length > 0)
      return exhaust(b, e.stepId, hold.error, `the edited limits of approval ${e.approvalId} are invalid: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    granted = e.arguments as BudgetLimits;
  }
  const before = b.state.budget;
  const after = { ...before };
  for (const k of ['maxUsd', 'maxTokens'] as const) {
    const v = granted[k];
    const was = after[k];
    if (v !== undefined && was !== undefined && v > was) after[k] = v;
  }
  b.state.budget = after;
  b.decide('raise-budget', [e.stepId], `run limits ${describe(before)} → ${describe(after)}: approval ${e.approvalId} ${verdict}`);
  if (b.timedOut()) return b.done();
  if (b.state.dispatches + 1 > maxStepsOf(b.state)) {
    b.finish('failed', `step limit of ${maxStepsOf(b.state)} reached (guard: limits.maxSteps)`, [e.stepId]);
    return b.done();
  }
  if (b.redispatch(spec)) b.decide('dispatch', [e.stepId], `step ${e.stepId} again (attempt ${b.state.steps[e.stepId]!.attempt}) with the raised budget`);
  return b.done();
}

/** The run ends as the denial would have ended it without `ask`, with why it was not raised. */
function exhaust(b: Builder, stepId: string, error: ErrorInfo, why: string): Transition {
  b.state.steps[stepId] = { ...b.state.steps[stepId]!, status: 'failed', error, finishedAt: b.at };
  b.finish('budget_exhausted', `step ${stepId}: ${error.message} (guard: budget); ${why}`, [stepId]);
  return b.done();
}

const usd = (x: number) => `$${Number(x.toFixed(6))}`;

function describe(l: BudgetLimits): string {
  const parts = [...(l.maxUsd !== undefined ? [`maxUsd ${usd(l.maxUsd)}`] : []), ...(l.maxTokens !== undefined ? [`maxTokens ${l.maxTokens}`] : [])];
  return parts.length > 0 ? parts.join(', ') : 'none';
}
