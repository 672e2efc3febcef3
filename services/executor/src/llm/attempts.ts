import { context, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { addUsage, ZERO_USAGE, type ErrorInfo, type ModelTarget, type RepairRung, type StepCommand, type Usage } from '@pipewright/contracts';
import type { Logger } from '@pipewright/kit';
import type { ProviderRegistry } from '../providers.js';
import { backoffDelayMs, canRetry } from './backoff.js';
import { callModel, type CallOutcome } from './call.js';
import { parseOutput } from './output.js';

export type StepOutcome =
  | { kind: 'succeeded'; output: unknown; rung: RepairRung; usage: Usage; calls: number; model: ModelTarget }
  | { kind: 'failed'; error: ErrorInfo; usage: Usage; calls: number; model: ModelTarget }
  /** Shutdown interrupted the step: hand the command back to the stream. */
  | { kind: 'interrupted' };

export interface AttemptDeps {
  providers: ProviderRegistry;
  tracer: Tracer;
  log: Logger;
  signal: AbortSignal;
  logContent: boolean;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/**
 * Runs one step command to an outcome: model calls with the step's timeout, retries with full jitter
 * within the retry policy and the run deadline, and the output repair ladder (tolerant parse, then one
 * re-ask with the validation error).
 */
export async function runStep(cmd: StepCommand, deps: AttemptDeps): Promise<StepOutcome> {
  const startedAt = Date.now();
  const hardDeadline = cmd.deadlineAt ? Date.parse(cmd.deadlineAt) : undefined;
  const model = cmd.call.model;
  const { client, baseURL } = deps.providers.get(model.provider);
  const sleep = deps.sleep ?? abortableSleep;
  let usage: Usage = { ...ZERO_USAGE };
  let calls = 0;
  let reask: { text: string; reason: string } | undefined;
  let reasked = false;

  for (;;) {
    if (deps.signal.aborted) return { kind: 'interrupted' };
    calls += 1;
    const outcome = await tracedCall(deps, cmd, model, baseURL, calls, () =>
      callModel({
        client,
        model,
        call: cmd.call,
        timeoutMs: cmd.timeoutMs,
        idempotencyKey: `${cmd.runId}:${cmd.stepId}`,
        callAttempt: calls,
        signal: deps.signal,
        ...(reask
          ? {
              extraMessages: [
                { role: 'assistant' as const, content: reask.text },
                { role: 'user' as const, content: `Your answer was not valid: ${reask.reason}. Reply again with only JSON that satisfies the schema.` },
              ],
            }
          : {}),
      }),
    );
    if (outcome.ok) {
      usage = addUsage(usage, outcome.usage);
      const parsed = parseOutput(outcome.text, cmd.call.responseSchema);
      if (parsed.ok) return { kind: 'succeeded', output: parsed.value, rung: reask ? 're-ask' : parsed.rung, usage, calls, model };
      if (!reasked) {
        reasked = true;
        reask = { text: outcome.text.slice(0, 20_000), reason: parsed.reason };
        deps.log.info({ stepId: cmd.stepId, reason: parsed.reason }, 'output invalid; re-asking once with the validation error');
        continue;
      }
      return { kind: 'failed', error: { code: 'output_invalid', message: parsed.reason, retryable: false }, usage, calls, model };
    }
    if (deps.signal.aborted) return { kind: 'interrupted' };
    const f = outcome.failure;
    const delay = backoffDelayMs(cmd.retry, calls, f.retryAfterMs);
    if (!f.retryable || !canRetry(cmd.retry, calls, startedAt, delay, Date.now(), hardDeadline)) {
      const why = f.retryable ? ` (gave up after ${calls} call(s): retry policy or deadline)` : '';
      return { kind: 'failed', error: { code: f.code, message: f.message + why, retryable: f.retryable }, usage, calls, model };
    }
    deps.log.info({ stepId: cmd.stepId, call: calls, code: f.code, delayMs: delay }, 'model call failed; retrying');
    try {
      await sleep(delay, deps.signal);
    } catch {
      return { kind: 'interrupted' };
    }
  }
}

async function tracedCall(deps: AttemptDeps, cmd: StepCommand, model: ModelTarget, baseURL: string, n: number, fn: () => Promise<CallOutcome>): Promise<CallOutcome> {
  const span = deps.tracer.startSpan(`chat ${model.model}`, {
    kind: SpanKind.CLIENT,
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': model.provider === 'default' ? 'openai' : model.provider,
      'gen_ai.request.model': model.model,
      'server.address': hostOf(baseURL),
      'pw.run.id': cmd.runId,
      'pw.step.id': cmd.stepId,
      'pw.call.attempt': n,
      ...(cmd.call.maxOutputTokens !== undefined ? { 'gen_ai.request.max_tokens': cmd.call.maxOutputTokens } : {}),
    },
  });
  const out = await context.with(trace.setSpan(context.active(), span), fn);
  if (out.ok) {
    span.setAttributes({
      'gen_ai.response.model': out.responseModel,
      'gen_ai.response.id': out.responseId,
      'gen_ai.response.finish_reasons': [out.finishReason],
      'gen_ai.usage.input_tokens': out.usage.inputTokens,
      'gen_ai.usage.output_tokens': out.usage.outputTokens,
    });
    if (deps.logContent) deps.log.debug({ stepId: cmd.stepId, completion: out.text }, 'model completion');
  } else {
    span.setAttributes({ 'error.type': out.failure.code, ...(out.failure.status ? { 'http.response.status_code': out.failure.status } : {}) });
    span.setStatus({ code: SpanStatusCode.ERROR, message: out.failure.message });
  }
  span.end();
  return out;
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return url;
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error('aborted'));
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new Error('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
