import { isModelStep, requestDigest, stepSpecOf, taskIdOf, TERMINAL_STATUSES, ZERO_USAGE, type RunState } from '@pipewright/contracts';
import { onAgentTurn, onToolFailed, onToolResult } from './agent.js';
import { onApprovalDecided } from './approval.js';
import { approvalIds, gateOutput, reasoningOf } from './approval-policy.js';
import { requestApproval } from './approval-request.js';
import { Builder, type Transition } from './builder.js';
import { askForBudget } from './budget-ask.js';
import { onChildFinished } from './child.js';
import { existingRun } from './conflict.js';
import { stepLabel } from './map-items.js';
import type { PlannerEvent } from './events.js';
import { rerun } from './rerun.js';
import { resume } from './resume.js';
import { afterEnd } from './settle.js';
import { onSignal, onStepTimeout } from './signal.js';
import { spendKey, sumCost, sumUsage } from './spend.js';
import { startRun } from './start.js';

export type { Transition };
export type { Rejection } from './builder.js';

/**
 * The planner's decision function: pure, so it is tested without IO and any replica can apply it.
 * `decide(state, event) → { state, decisions, messages }`; the caller stores the state with
 * compare-and-set and then publishes the messages.
 */
export function decide(current: RunState | undefined, event: PlannerEvent, now: Date): Transition {
  if (event.type === 'run.submitted') {
    const { request } = event;
    const digest = requestDigest(request);
    if (current) return existingRun(current, digest, { kind: 'submit', request });
    const { input, tenant, labels, budget } = request;
    return startRun({ runId: event.runId, pipeline: event.pipeline ?? request.pipeline, input, tenant, labels, budget, traceparent: event.traceparent, requestDigest: digest, parent: request.parent }, 'run.submitted', now);
  }
  if (event.type === 'run.rerun') return rerun(current, event, now);
  if (event.type === 'run.resume') return resume(current, event, now);
  if (!current) return { kind: 'unchanged', reason: `no such run for ${event.type}`, noRun: true };
  if (TERMINAL_STATUSES.has(current.status)) {
    // Only spending (and, while it settles, its running tasks' reports) still reaches an ended run, and
    // approval decisions, kept for a resume.
    const mayMatter = current.settling !== undefined || event.type === 'task.spent' || event.type === 'step.parked' || event.type === 'approval.decided' || event.type === 'child.finished';
    return mayMatter ? afterEnd(new Builder(current, now, event.type), event) : { kind: 'unchanged', reason: `run already ${current.status}` };
  }
  const reported = event.type === 'step.completed' || event.type === 'step.failed' ? taskIdOf(event) : undefined;
  const b = new Builder(current, now, event.type, reported);

  switch (event.type) {
    case 'run.cancel':
      b.finish('cancelled', event.reason);
      return b.done();
    case 'run.deadline':
      // Finishes the run as timed_out when its deadline has passed; a timer that fired early changes nothing.
      return b.timedOut() ? b.done() : { kind: 'unchanged', reason: `run deadline ${current.deadlineAt} not reached` };
    case 'step.completed': {
      const step = b.state.steps[event.stepId];
      const spec = stepSpecOf(b.state.pipeline, event.stepId);
      if (!step || !spec || !isModelStep(spec)) return { kind: 'unchanged', reason: `unknown step ${event.stepId}, or one that runs no task` };
      if (step.status === 'succeeded') return { kind: 'unchanged', reason: `step ${event.stepId} already succeeded (duplicate result)` };
      if (step.status === 'skipped') return { kind: 'unchanged', reason: `step ${event.stepId} was skipped: it ran no task` };
      if (step.approval) return { kind: 'unchanged', reason: `step ${event.stepId} waits for approval ${step.approval.approvalId} (duplicate result)` };
      if (event.task === 'agent-turn') return onAgentTurn(b, event);
      if (event.task === 'tool') return onToolResult(b, event);
      const facts = {
        usage: event.usage,
        model: event.model,
        calls: event.calls,
        rung: event.rung,
        latencyMs: event.latencyMs,
        ...(event.costUsd !== undefined ? { costUsd: event.costUsd } : {}),
      };
      b.charge(event.usage, event.costUsd);
      const gate = gateOutput(b.state, spec, event.output);
      if (gate) {
        // The step ran; its output is accepted only once a person approves it.
        b.state.steps[event.stepId] = { ...step, ...facts, parkedAt: undefined };
        requestApproval(b, spec, approvalIds.output(b.state.runId, spec.id, step.attempt), gate, { kind: 'step', output: event.output }, reasoningOf(event.output));
        b.resumeIfUnparked();
        return b.done();
      }
      b.completeStep(event.stepId, { ...facts, output: event.output }, `step ${event.stepId} succeeded with ${event.model.model} after ${event.calls} call(s) (${event.rung})`);
      return b.done();
    }
    case 'step.failed': {
      const step = b.state.steps[event.stepId];
      const spec = stepSpecOf(b.state.pipeline, event.stepId);
      if (!step || !spec || !isModelStep(spec)) return { kind: 'unchanged', reason: `unknown step ${event.stepId}, or one that runs no task` };
      if (step.status !== 'dispatched') return { kind: 'unchanged', reason: `step ${event.stepId} is ${step.status}, not in flight` };
      if (step.approval) return { kind: 'unchanged', reason: `step ${event.stepId} waits for approval ${step.approval.approvalId} (stale failure)` };
      if (event.attempt < step.attempt) return { kind: 'unchanged', reason: `step ${event.stepId}: failure of attempt ${event.attempt}, the step is at attempt ${step.attempt} (stale failure)` };
      if (event.task === 'tool') return onToolFailed(b, event);
      b.charge(event.usage, event.costUsd);
      const ask = event.error.code === 'budget_exceeded' ? askForBudget(b, event) : { asked: false as const };
      if (ask.asked) return b.done();
      b.state.steps[event.stepId] = { ...step, status: 'failed', error: event.error, calls: event.calls, finishedAt: now.toISOString(), parkedAt: undefined };
      const label = stepLabel(b.state.pipeline, event.stepId);
      if (event.error.code === 'budget_exceeded')
        b.finish('budget_exhausted', `${label}: ${event.error.message} (guard: budget${ask.note ? `; ${ask.note}` : ''})`, [event.stepId]);
      else if (event.error.code === 'deadline_exceeded')
        b.finish('timed_out', `${label} ran out of time: ${event.error.message} (guard: limits.deadlineMs)`, [event.stepId]);
      else b.finish('failed', `${label} failed: ${event.error.code}: ${event.error.message}`, [event.stepId]);
      return b.done();
    }
    case 'step.parked': {
      const step = b.state.steps[event.stepId];
      if (!step || step.status !== 'dispatched' || step.approval) return { kind: 'unchanged', reason: `step ${event.stepId} is not in flight` };
      // What the parked delivery spent is the run's, even when the run already shows paused.
      const spent = ((event.usage?.totalTokens ?? 0) > 0 || (event.costUsd ?? 0) > 0) && b.chargeOnce(spendKey(event), event.usage ?? ZERO_USAGE, event.costUsd);
      if (step.parkedAt !== undefined && b.state.status === 'paused') return spent ? b.done() : { kind: 'unchanged', reason: `step ${event.stepId} already parked` };
      b.state.steps[event.stepId] = { ...step, parkedAt: event.at };
      b.state.status = 'paused';
      b.state.reason = `step ${event.stepId} parked: ${event.reason}`;
      b.decide('pause', [event.stepId], `step ${event.stepId} parked until ${event.retryAt}: ${event.reason}`);
      return b.done();
    }
    case 'approval.decided':
      return onApprovalDecided(b, event);
    case 'step.revoked':
      return { kind: 'unchanged', reason: `revocation of ${event.stepId} for a run that is still ${current.status}` };
    case 'run.signal':
      return onSignal(b, event.request);
    case 'step.timeout':
      return onStepTimeout(b, event);
    case 'child.finished':
      return onChildFinished(b, event);
    case 'task.spent':
      // A delivery that lost its task (taken over while it ran) still spent: the run pays for it.
      return b.chargeOnce(spendKey(event), sumUsage(event.spend), sumCost(event.spend)) ? b.done() : { kind: 'unchanged', reason: 'spending already counted' };
  }
}
