import { effectiveApproval, type EffectiveApproval, type RunState, type Step, type ToolCall } from '@pipewright/contracts';

/** A policy that asks for approval, with what made it ask. */
export interface GateMatch {
  policy: EffectiveApproval;
  /** Every trigger that matched, e.g. `tool refund (approval.tools)`, `confidence 0.42 < 0.7 (approval.confidenceBelow)`. */
  reasons: string[];
  /** The confidence that was compared, when one was reported. */
  confidence?: number;
  /** The run's cost so far (USD), including the step or turn being judged. */
  costSoFarUsd: number;
}

/**
 * The model's reported confidence: the action's own (`AgentAction.confidence`), else a numeric
 * `confidence` in [0, 1] of an output object. Undefined when none is reported: then a confidence
 * threshold does not ask.
 */
export function confidenceOf(output: unknown, actionConfidence?: number): number | undefined {
  if (actionConfidence !== undefined) return actionConfidence;
  if (output === null || typeof output !== 'object' || Array.isArray(output)) return undefined;
  const c = (output as { confidence?: unknown }).confidence;
  return typeof c === 'number' && Number.isFinite(c) && c >= 0 && c <= 1 ? c : undefined;
}

/** The model's explanation of its choice, when the output object carries a `reasoning` string. */
export function reasoningOf(output: unknown, actionReasoning?: string): string | undefined {
  if (actionReasoning !== undefined && actionReasoning !== '') return actionReasoning;
  if (output === null || typeof output !== 'object' || Array.isArray(output)) return undefined;
  const r = (output as { reasoning?: unknown }).reasoning;
  return typeof r === 'string' && r !== '' ? r : undefined;
}

const usd = (x: number) => `$${Number(x.toFixed(6))}`;

/** The triggers every gate shares: confidence below the threshold, and the run's cost above the amount. */
function common(state: RunState, policy: EffectiveApproval, confidence: number | undefined, reasons: string[]): GateMatch | undefined {
  if (policy.confidenceBelow !== undefined && confidence !== undefined && confidence < policy.confidenceBelow)
    reasons.push(`confidence ${confidence} < ${policy.confidenceBelow} (approval.confidenceBelow)`);
  if (policy.costAboveUsd !== undefined && state.costUsd > policy.costAboveUsd)
    reasons.push(`run cost ${usd(state.costUsd)} > ${usd(policy.costAboveUsd)} (approval.costAboveUsd)`);
  if (reasons.length === 0) return undefined;
  return { policy, reasons, ...(confidence !== undefined ? { confidence } : {}), costSoFarUsd: state.costUsd };
}

/**
 * Whether a step's output (an llm step's answer, an agent's final answer) must wait for approval before
 * it is accepted. `state.costUsd` must already include the step's own cost. Pure.
 */
export function gateOutput(state: RunState, step: Step, output: unknown, actionConfidence?: number): GateMatch | undefined {
  const policy = effectiveApproval(state.pipeline, step);
  if (!policy) return undefined;
  const reasons = policy.always ? [`step ${step.id} always needs approval (approval.always)`] : [];
  return common(state, policy, confidenceOf(output, actionConfidence), reasons);
}

/**
 * Whether an agent's (validated) tool call must be held for approval before it is dispatched. Only the
 * action's own confidence counts here: a tool call's arguments are not an answer. Pure.
 */
export function gateTool(state: RunState, step: Step, call: ToolCall, actionConfidence?: number): GateMatch | undefined {
  const policy = effectiveApproval(state.pipeline, step);
  if (!policy) return undefined;
  const reasons = policy.tools.includes(call.name) ? [`tool ${call.name} needs approval (approval.tools)`] : [];
  return common(state, policy, actionConfidence, reasons);
}

/** Approval ids, `<runId>:<stepId>:<attempt>` by convention; a held tool call adds its turn, a request for more budget `:budget`. */
export const approvalIds = {
  output: (runId: string, stepId: string, attempt: number) => `${runId}:${stepId}:${attempt}`,
  tool: (runId: string, stepId: string, attempt: number, turn: number) => `${runId}:${stepId}:${attempt}:t${turn}`,
  budget: (runId: string, stepId: string, attempt: number) => `${runId}:${stepId}:${attempt}:budget`,
} as const;

/** The trace id of a W3C traceparent (`00-<trace id>-<span id>-<flags>`), if it is one. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  const m = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(traceparent ?? '');
  return m && m[1] !== '0'.repeat(32) ? m[1] : undefined;
}
