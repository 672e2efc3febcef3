import type { JsMsg } from '@nats-io/jetstream';
import { RetryableError, TerminalError, errorMessage } from '../errors.js';

/** What a handler decided about a message. Mapped to ack / nak(delay) / term here and nowhere else. */
export type Outcome =
  | { kind: 'ack' }
  /** Try again after `delayMs` (another replica may take it). */
  | { kind: 'retry'; delayMs: number; reason: string }
  /**
   * A planned hold, not a failure: nak(delayMs) like `retry` (a timer not yet due, a cancel waiting for
   * its run, a task held elsewhere, a parked step), but the message's span is not marked as an error.
   */
  | { kind: 'wait'; delayMs: number; reason: string }
  /** Never try again; the message is copied to the DLQ with the reason. */
  | { kind: 'reject'; reason: string };

export const ACK: Outcome = Object.freeze({ kind: 'ack' });

/** Backoff for failures that name no delay: full jitter, capped. */
export function redeliveryDelayMs(deliveryCount: number, baseMs = 500, capMs = 30_000): number {
  const cap = Math.min(capMs, baseMs * 2 ** Math.max(0, deliveryCount - 1));
  return Math.round(Math.random() * cap);
}

/** Maps a thrown error to an outcome: retryability lives in the error type. */
export function outcomeOfError(err: unknown, deliveryCount: number): Outcome {
  if (err instanceof TerminalError) return { kind: 'reject', reason: `${err.code}: ${err.message}` };
  if (err instanceof RetryableError)
    return { kind: 'retry', delayMs: err.retryAfterMs ?? redeliveryDelayMs(deliveryCount), reason: err.message };
  // A bug or an unexpected failure: retry with backoff; max_deliver bounds it and the DLQ keeps it.
  return { kind: 'retry', delayMs: redeliveryDelayMs(deliveryCount), reason: `unexpected error: ${errorMessage(err)}` };
}

/** Applies an outcome to the message. `reject` must already have been copied to the DLQ. */
export function settle(msg: JsMsg, outcome: Outcome): void {
  switch (outcome.kind) {
    case 'ack':
      msg.ack();
      return;
    case 'retry':
    case 'wait':
      msg.nak(Math.max(0, Math.round(outcome.delayMs)));
      return;
    case 'reject':
      msg.term(outcome.reason.slice(0, 256));
      return;
  }
}
