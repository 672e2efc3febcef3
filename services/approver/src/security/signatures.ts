import { createHmac } from 'node:crypto';
import { equalText, type SignatureCheck } from '@pipewright/kit';

/** Slack refuses requests older than this, and so do we: a captured request cannot be replayed later. */
export const SLACK_TOLERANCE_MS = 5 * 60_000;

/** `v0=<hex>`: HMAC-SHA256 of `v0:{timestamp}:{raw body}` with the Slack app's signing secret. */
export function slackSignature(secret: string, timestamp: string, rawBody: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`;
}

/** Verifies `X-Slack-Signature` and `X-Slack-Request-Timestamp` over the raw body, in constant time. */
export function verifySlackSignature(o: { secret: string; timestamp: string | undefined; signature: string | undefined; rawBody: string; nowMs: number; toleranceMs?: number }): SignatureCheck {
  if (o.timestamp === undefined || o.signature === undefined) return { ok: false, reason: 'missing Slack signature headers' };
  if (!/^\d{1,12}$/.test(o.timestamp)) return { ok: false, reason: 'bad timestamp' };
  if (Math.abs(o.nowMs - Number(o.timestamp) * 1000) > (o.toleranceMs ?? SLACK_TOLERANCE_MS)) return { ok: false, reason: 'timestamp outside the 5-minute window' };
  return equalText(o.signature, slackSignature(o.secret, o.timestamp, o.rawBody)) ? { ok: true } : { ok: false, reason: 'signature mismatch' };
}
