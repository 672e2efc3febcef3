import { toOpenAiMessages } from '../agent/messages.js';
import type OpenAI from 'openai';
import { headers as H, type LlmCall, type ModelTarget, type Usage } from '@pipewright/contracts';
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
}

export type CallOutcome =
  | { ok: true; text: string; usage: Usage; finishReason: string; responseModel: string; responseId: string }
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
    return { ok: true, text: choice?.message.content ?? '', usage, finishReason: choice?.finish_reason ?? 'unknown', responseModel: res.model, responseId: res.id };
  } catch (err) {
    return { ok: false, failure: classify(err, timeout.signal.aborted) };
  } finally {
    clearTimeout(timer);
    input.signal?.removeEventListener('abort', onOuterAbort);
  }
}
