import { context, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { nanoToUsd, usageCost, type ModelPrice, type ModelTarget, type StepCommand } from '@pipewright/contracts';
import {
  ATTR_ERROR_TYPE,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MAX_TOKENS,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_RESPONSE_ID,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  GEN_AI_OPERATION_NAME_VALUE_CHAT,
  type Logger,
} from '@pipewright/kit';
import type { BreakerState } from './breakers.js';
import type { CallOutcome } from './call.js';

export interface SpanDeps {
  tracer: Tracer;
  log: Logger;
  logContent: boolean;
}

export interface CallLabels {
  model: ModelTarget;
  baseURL: string;
  /** Call number within this dispatch of the step, over every model of the chain. */
  call: number;
  /** 0 for the step's own model, n for its n-th fallback. */
  fallbackIndex: number;
  breaker: BreakerState;
  /** The budget's reservation for the call, when it is metered: recorded on the span, not as a span of its own. */
  reservation?: { id: string; price?: ModelPrice; reservedUsd?: number };
}

/** One `chat {model}` CLIENT span around a model call, with OTel GenAI attributes. */
export async function tracedCall(deps: SpanDeps, cmd: StepCommand, l: CallLabels, fn: () => Promise<CallOutcome>): Promise<CallOutcome> {
  const span = deps.tracer.startSpan(`chat ${l.model.model}`, {
    kind: SpanKind.CLIENT,
    attributes: {
      [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_NAME_VALUE_CHAT,
      [ATTR_GEN_AI_PROVIDER_NAME]: l.model.provider === 'default' ? 'openai' : l.model.provider,
      [ATTR_GEN_AI_REQUEST_MODEL]: l.model.model,
      [ATTR_SERVER_ADDRESS]: hostOf(l.baseURL),
      'pw.run.id': cmd.runId,
      'pw.step.id': cmd.stepId,
      'pw.call.attempt': l.call,
      'pw.fallback.index': l.fallbackIndex,
      'pw.breaker.state': l.breaker,
      ...(cmd.call.maxOutputTokens !== undefined ? { [ATTR_GEN_AI_REQUEST_MAX_TOKENS]: cmd.call.maxOutputTokens } : {}),
      ...(l.reservation ? { [ATTR_RESERVATION]: l.reservation.id, ...(l.reservation.reservedUsd !== undefined ? { [ATTR_RESERVED_USD]: l.reservation.reservedUsd } : {}) } : {}),
    },
  });
  const out = await context.with(trace.setSpan(context.active(), span), fn);
  if (out.ok) {
    span.setAttributes({
      [ATTR_GEN_AI_RESPONSE_MODEL]: out.responseModel,
      [ATTR_GEN_AI_RESPONSE_ID]: out.responseId,
      [ATTR_GEN_AI_RESPONSE_FINISH_REASONS]: [out.finishReason],
      [ATTR_GEN_AI_USAGE_INPUT_TOKENS]: out.usage.inputTokens,
      [ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: out.usage.outputTokens,
    });
    // What the call cost, priced as the budget prices it (the same arithmetic as the spend it books)
    if (l.reservation?.price) span.setAttribute(ATTR_COST_USD, nanoToUsd(usageCost(l.reservation.price, out.usage).nano));
    if (deps.logContent) deps.log.debug({ stepId: cmd.stepId, completion: out.text }, 'model completion');
  } else {
    span.setAttributes({ [ATTR_ERROR_TYPE]: out.failure.code, ...(out.failure.status ? { [ATTR_HTTP_RESPONSE_STATUS_CODE]: out.failure.status } : {}) });
    span.setStatus({ code: SpanStatusCode.ERROR, message: out.failure.message });
  }
  span.end();
  return out;
}

/** The budget reservation the call was admitted under. */
const ATTR_RESERVATION = 'pw.budget.reservation.id';
/** USD the budget set aside for the call before it was made (estimated prompt + output cap). */
const ATTR_RESERVED_USD = 'pw.budget.reserved_usd';
/** USD the call cost: its usage at the budget's price. On model-call spans, and summed on step spans. */
export const ATTR_COST_USD = 'pw.cost.usd';

function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return url;
  }
}
