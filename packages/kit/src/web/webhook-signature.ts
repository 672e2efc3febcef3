import { createHmac } from 'node:crypto';
import { equalText } from './compare.js';

/** A receiver refuses a signature older (or newer) than this: a captured delivery cannot be replayed later. */
export const WEBHOOK_TOLERANCE_MS = 5 * 60_000;

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/**
 * `t=<unix seconds>,v1=<hex>`: HMAC-SHA256 of `<t>.<body>` with the endpoint's secret. The approver
 * sends it as `X-Pipewright-Signature`, the console as `Pw-Signature`; the scheme is the same.
 */
export function signWebhook(secret: string, body: string, unixSeconds: number): string {
  return `t=${unixSeconds},v1=${createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex')}`;
}

/** What a receiver does (exported for receivers in TypeScript, and tests): constant time, within the window. */
export function verifyWebhookSignature(secret: string, header: string | undefined, body: string, nowMs: number, toleranceMs = WEBHOOK_TOLERANCE_MS): SignatureCheck {
  const m = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return { ok: false, reason: 'missing or malformed signature header' };
  const t = Number(m[1]);
  if (Math.abs(nowMs - t * 1000) > toleranceMs) return { ok: false, reason: 'timestamp outside the window' };
  return equalText(header ?? '', signWebhook(secret, body, t)) ? { ok: true } : { ok: false, reason: 'signature mismatch' };
}
