// What a consumer's span says: its name (by what the message is), whether there is one, and what
// became of the message.
import { SpanStatusCode, type Span } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { ConsumeOptions } from './consume.js';
import type { Outcome } from './outcome.js';

/** The span's name and whether to make one; a naming function that throws (a bug) costs the name, not the message. */
export function spanLook<S extends z.ZodType>(o: Pick<ConsumeOptions<S>, 'spanName' | 'spanNameOf' | 'traceIf'>, value: z.infer<S>, log: Logger): { quiet: boolean; name: string } {
  try {
    return { quiet: o.traceIf !== undefined && !o.traceIf(value), name: o.spanNameOf ? o.spanNameOf(value) : o.spanName };
  } catch (err) {
    log.error({ err }, 'span naming failed; the message is handled under the consumer\'s name');
    return { quiet: false, name: o.spanName };
  }
}

/**
 * What became of the message, on its span. Only a failure (a retry after an error, a refusal) is an
 * ERROR: a planned hold is how timers and waits work, and would make every trace look failed.
 */
export function recordOutcome(span: Span, outcome: Outcome): void {
  span.setAttribute(ATTR_OUTCOME, outcome.kind);
  if (outcome.kind === 'ack') return;
  span.setAttribute(ATTR_OUTCOME_REASON, outcome.reason);
  if (outcome.kind !== 'reject') span.setAttribute(ATTR_REDELIVERY_DELAY, Math.round(outcome.delayMs));
  if (outcome.kind !== 'wait') span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.kind === 'retry' ? `retry: ${outcome.reason}` : outcome.reason });
}

/** ack | wait | retry | reject: how the handler settled the message. */
const ATTR_OUTCOME = 'pw.message.outcome';
/** Why a message was held, retried or refused. */
const ATTR_OUTCOME_REASON = 'pw.message.outcome.reason';
/** The delay of a nak: when the message comes back. */
const ATTR_REDELIVERY_DELAY = 'pw.message.redelivery_delay_ms';
