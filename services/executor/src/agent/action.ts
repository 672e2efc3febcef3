import type { AgentAction, JsonSchemaDoc, ToolCall } from '@pipewright/contracts';
import { parseOutput, type ParsedOutput } from '../llm/output.js';

/**
 * What one agent turn's answer means: a tool call (the first the model made; calls are asked for one
 * at a time), or the final answer, which must satisfy the step's schema like any step output. The
 * tool call is not judged here: the planner checks it against the declared tools and refuses it with a
 * reason the agent sees.
 */
export function toAgentAction(text: string, toolCalls: readonly ToolCall[], schema: JsonSchemaDoc | undefined): ParsedOutput {
  const call = toolCalls[0];
  if (call) {
    const action: AgentAction = { action: 'tool', call, ...(text.trim() ? { reasoning: text.slice(0, 20_000) } : {}) };
    return { ok: true, value: action, rung: 'direct' };
  }
  const parsed = parseOutput(text, schema);
  if (!parsed.ok) return parsed;
  const final: AgentAction = { action: 'final', output: parsed.value };
  return { ok: true, value: final, rung: parsed.rung };
}
