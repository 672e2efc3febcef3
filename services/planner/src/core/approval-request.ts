import { SCHEMA_VERSION, subjects, type ApprovalRequest, type BudgetAskContext, type PendingApproval, type ProposedAction, type Step } from '@pipewright/contracts';
import { traceIdOf, type GateMatch } from './approval-policy.js';
import type { Builder } from './builder.js';

/** Largest output (JSON characters) sent whole for people to read; a larger one is sent as a preview. */
const OUTPUT_PREVIEW_CHARS = 16_000;

/** What waits: a step's output, an agent's tool call (with the tool's argument schema), or more budget. */
export type Held =
  | { kind: 'step'; output: unknown }
  | { kind: 'tool'; call: NonNullable<PendingApproval['call']>; turn: number; argumentsSchema: Record<string, unknown> }
  | { kind: 'budget'; ask: BudgetAskContext; pending: NonNullable<PendingApproval['budget']>; argumentsSchema: Record<string, unknown> };

/**
 * Asks a person: queues the ApprovalRequest for the approver (msg id = approval id, so a replayed
 * outbox is the same approval), records what waits on the step, and puts the run in
 * `waiting_approval`. No executor is held: the step's work is done, or the tool call not yet sent.
 */
export function requestApproval(b: Builder, step: Step, approvalId: string, gate: GateMatch, held: Held, reasoning: string | undefined): void {
  const s = b.state;
  const reason = gate.reasons.join('; ');
  const action = proposedAction(held);
  const { policy } = gate;
  const traceId = traceIdOf(s.traceparent);
  const request: ApprovalRequest = {
    schemaVersion: SCHEMA_VERSION,
    approvalId,
    runId: s.runId,
    stepId: step.id,
    pipeline: s.pipeline.name,
    action,
    ...(held.kind !== 'step' ? { argumentsSchema: held.argumentsSchema } : {}),
    ...(held.kind === 'budget' ? { budget: held.ask } : {}),
    reason: reason.slice(0, 2_000),
    ...(reasoning !== undefined ? { reasoning: reasoning.slice(0, 20_000) } : {}),
    ...(gate.confidence !== undefined ? { confidence: gate.confidence } : {}),
    costSoFarUsd: gate.costSoFarUsd,
    ...(traceId ? { traceId } : {}),
    ...(policy.timeoutMs !== undefined ? { timeoutMs: policy.timeoutMs } : {}),
    onTimeout: policy.onTimeout,
    ...(policy.escalation ? { escalation: policy.escalation } : {}),
    requestedAt: b.at,
  };
  b.send(subjects.approvalRequest, approvalId, request);
  b.emit(
    {
      schemaVersion: SCHEMA_VERSION,
      type: 'approval.requested',
      runId: s.runId,
      at: b.at,
      approvalId,
      stepId: step.id,
      action,
      reason: request.reason,
      ...(policy.timeoutMs !== undefined ? { timeoutMs: policy.timeoutMs } : {}),
      onTimeout: policy.onTimeout,
    },
    approvalId,
  );
  const base = { approvalId, reason: request.reason, requestedAt: b.at };
  const pending: PendingApproval =
    held.kind === 'tool'
      ? { ...base, kind: 'tool', call: held.call, turn: held.turn }
      : held.kind === 'budget'
        ? { ...base, kind: 'budget', budget: held.pending }
        : { ...base, kind: 'step', output: held.output };
  s.steps[step.id] = { ...s.steps[step.id]!, approval: pending };
  const what =
    held.kind === 'tool' ? `tool call ${held.call.name} (turn ${held.turn}) held` : held.kind === 'budget' ? `step ${step.id} waits for more budget` : `output of ${step.id} waits`;
  b.decide('request-approval', [step.id], `${what} for approval ${approvalId}: ${reason}`);
  b.settleApprovals();
}

function proposedAction(held: Held): ProposedAction {
  if (held.kind === 'tool') return { kind: 'tool', tool: held.call.name, arguments: held.call.arguments };
  if (held.kind === 'budget') return { kind: 'budget', arguments: held.pending.proposed };
  return { kind: 'step', arguments: preview(held.output) };
}

/** A step's output as the person sees it: whole when small, else the start of its JSON. */
function preview(output: unknown): unknown {
  const json = JSON.stringify(output ?? null);
  return json.length <= OUTPUT_PREVIEW_CHARS ? (output ?? null) : `${json.slice(0, OUTPUT_PREVIEW_CHARS)}… (${json.length} characters; the whole output is in the run state)`;
}
