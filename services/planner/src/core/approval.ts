import { resolvedTool, schemaValidator, type ApprovalDecision, type ChatMessage, type ToolCall } from '@pipewright/contracts';
import { agentStep, dispatchTool, nextTurn } from './agent.js';
import type { Builder, Transition } from './builder.js';
import { onBudgetDecided } from './budget-ask.js';

/**
 * A person (or the approver's timeout) decided. Only the approval the step waits for counts: a decision
 * for another approval id, or for a step no longer waiting, is stale or a duplicate and changes nothing.
 *
 * - Output gate (`kind: step`): approved → the output is accepted and the DAG goes on; rejected → the
 *   run fails, naming the approval and who rejected it. (`edited` cannot be decided on a step gate: the
 *   approver refuses it; if one arrives it counts as approved, its arguments unused.)
 * - Tool gate (`kind: tool`): approved → the held call is dispatched; edited → it is dispatched with the
 *   edited arguments (validated again against the tool's schema); rejected → the model gets the
 *   rejection as the call's error result and takes its next turn.
 * - Budget (`kind: budget`): approved or edited → the run's limits are raised and the step runs again;
 *   rejected → the run ends `budget_exhausted` (see budget-ask.ts).
 */
export function onApprovalDecided(b: Builder, e: ApprovalDecision): Transition {
  const st = b.state.steps[e.stepId];
  const pending = st?.approval;
  if (!st || !pending || pending.approvalId !== e.approvalId)
    return { kind: 'unchanged', reason: `approval ${e.approvalId} ${e.decision} by ${e.by}: step ${e.stepId} is not waiting for it (stale or duplicate decision)` };
  const verdict = `${e.decision} by ${e.by} via ${e.via}${e.reason ? `: ${e.reason}` : ''}`;
  b.decide(`approval-${e.decision}`, [e.stepId], `approval ${e.approvalId} ${verdict}`);
  b.state.steps[e.stepId] = { ...st, approval: undefined };
  b.settleApprovals();

  if (pending.kind === 'budget') return onBudgetDecided(b, e, pending, verdict);
  if (pending.kind === 'step') {
    if (e.decision === 'rejected') {
      const message = `approval ${e.approvalId} ${verdict}`;
      b.state.steps[e.stepId] = { ...b.state.steps[e.stepId]!, status: 'failed', error: { code: 'approval_rejected', message, retryable: false }, finishedAt: b.at };
      b.finish('failed', `step ${e.stepId}: ${message}`, [e.stepId]);
      return b.done();
    }
    b.completeStep(e.stepId, { output: pending.output }, `output of ${e.stepId} accepted: approval ${e.approvalId} ${e.decision} by ${e.by}`);
    return b.done();
  }

  const step = agentStep(b, e.stepId);
  const agent = st.agent;
  const call = pending.call;
  if (!step || !agent || !call || pending.turn !== agent.turn) {
    b.finish('failed', `step ${e.stepId}: approval ${e.approvalId} holds no tool call of the current turn (planner state is inconsistent)`, [e.stepId]);
    return b.done();
  }
  if (e.decision === 'rejected') return feedBack(b, e.stepId, call, `error: approval_rejected: a person did not allow this call (${verdict}). Do not repeat it; choose another action.`);
  if (b.timedOut()) return b.done();
  if (e.decision === 'approved') return dispatchTool(b, step, call);

  const decl = resolvedTool(b.state.pipeline, call.name);
  const issues = schemaValidator.validate(decl.input, e.arguments, 'arguments');
  if (issues.length > 0) {
    b.decide('refuse-tool', [e.stepId], `edited arguments of approval ${e.approvalId} are invalid: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    return feedBack(b, e.stepId, call, `error: the approved edit of this call has invalid arguments: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  }
  // The history shows the call as it runs, so the model reads the result against the right arguments.
  const edited: ToolCall = { ...call, arguments: e.arguments };
  const history = agent.history.map((m) => (m.role === 'assistant' && m.toolCalls?.some((c) => c.id === call.id) ? { ...m, toolCalls: [edited] } : m));
  b.state.steps[e.stepId] = { ...b.state.steps[e.stepId]!, agent: { ...agent, history } };
  return dispatchTool(b, step, edited);
}

/** The held call did not run: its "result" is the given error, and the model takes the next turn. */
function feedBack(b: Builder, stepId: string, call: ToolCall, content: string): Transition {
  const step = agentStep(b, stepId)!;
  const agent = b.state.steps[stepId]!.agent!;
  const history: ChatMessage[] = [...agent.history, { role: 'tool', toolCallId: call.id, content }];
  return nextTurn(b, step, history, agent.actionCounts);
}
