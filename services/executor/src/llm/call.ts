import { toOpenAiMessages } from '../agent/messages.js';
import type OpenAI from 'openai';
import { headers as H, MAX_VALUE_DEPTH, parseJsonBounded, type LlmCall, type ModelTarget, type StepCommand, type ToolCall, type Usage } from '@pipewright/contracts';
import { classify, type CallFailure } from './errors.js';

export interface CallInput {
  client: OpenAI;
  model: ModelTarget;
  call: LlmCall;
  timeoutMs: number;
  /** `<runId>:<stepId>`: lets a provider (and the simulator) recognise a repeated call. */
  idempotencyKey: string;
  callAttempt: number;
  /** Aborts the call from outside (shutdown). */
  signal?: AbortSignal;
  /** Extra messages appended after the step's own (the repair re-ask). */
  extraMessages?: LlmCall['messages'];
  /** Agent turns: the tools the model may call (one call per turn). */
  tools?: StepCommand['tools'];
}

export type CallOutcome =
  | { ok: true; text: string; toolCalls: ToolCall[]; usage: Usage; finishReason: string; responseModel: string; responseId: string }
  | { ok: false; failure: CallFailure };

/** One model call with its own timeout (an AbortSignal per call). Never throws. */
export async function callModel(input: CallInput): Promise<CallOutcome> {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new Error('timeout')), input.timeoutMs);
  // One controller per call, tied to the outer signal by a listener that is removed afterwards. Not
  // AbortSignal.any: on Node 20 every signal it derives from a long-lived one (the consumer's, alive
  // for the whole process) stays reachable, ~2 KB a call and slower each time.
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort(input.signal?.reason);
  timeout.signal.addEventListener('abort', () => controller.abort(timeout.signal.reason), { once: true });
  if (input.signal?.aborted) onOuterAbort();
  else input.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const signal = controller.signal;
  const { call } = input;
  try {
    const res = await input.client.chat.completions.create(
      {
        model: input.model.model,
        messages: toOpenAiMessages([...call.messages, ...(input.extraMessages ?? [])]),
        ...(call.responseSchema
          ? { response_format: { type: 'json_schema' as const, json_schema: { name: 'output', schema: call.responseSchema, strict: false } } }
          : {}),
        ...(call.maxOutputTokens !== undefined ? { max_completion_tokens: call.maxOutputTokens } : {}),
        ...(call.temperature !== undefined ? { temperature: call.temperature } : {}),
        ...(input.tools && input.tools.length > 0
          ? {
              tools: input.tools.map((t) => ({ type: 'function' as const, function: { name: t.name, description: t.description, parameters: t.input } })),
              tool_choice: 'auto' as const,
              parallel_tool_calls: false,
            }
          : {}),
      },
      { signal, headers: { [H.idempotencyKey]: input.idempotencyKey, [H.callAttempt]: String(input.callAttempt) } },
    );
    const choice = res.choices[0];
    const u = res.usage;
    const usage: Usage = {
      inputTokens: u?.prompt_tokens ?? 0,
      outputTokens: u?.completion_tokens ?? 0,
      totalTokens: u?.total_tokens ?? (u?.prompt_tokens ?? 0) + (u?.completion_tokens ?? 0),
      ...(u?.prompt_tokens_details?.cached_tokens ? { cachedInputTokens: u.prompt_tokens_details.cached_tokens } : {}),
    };
    const toolCalls: ToolCall[] = (choice?.message.tool_calls ?? []).flatMap((c) => (c.type === 'function' ? [{ id: c.id, name: c.function.name, arguments: parseArguments(c.function.arguments) }] : []));
    return { ok: true, text: choice?.message.content ?? '', toolCalls, usage, finishReason: choice?.finish_reason ?? 'unknown', responseModel: res.model, responseId: res.id };
  } catch (err) {
    return { ok: false, failure: classify(err, timeout.signal.aborted) };
  } finally {
    clearTimeout(timer);
    input.signal?.removeEventListener('abort', onOuterAbort);
  }
}

/** Tool-call arguments as JSON; text that is not JSON (or nested past MAX_VALUE_DEPTH) is kept as it is, for the planner to refuse with a reason. */
function parseArguments(raw: string): unknown {
  const parsed = parseJsonBounded(raw, MAX_VALUE_DEPTH);
  return parsed.ok ? parsed.value : raw;
}
