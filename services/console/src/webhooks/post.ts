import { signWebhook } from '@pipewright/kit';

/** Header names of a delivery. */
export const WEBHOOK_HEADERS = { signature: 'Pw-Signature', id: 'Pw-Webhook-Id', attempt: 'Pw-Delivery-Attempt' } as const;

export type PostResult = { ok: true; status: number } | { ok: false; reason: string };

/**
 * One attempt: POST the body, signed (`t=<unix s>,v1=<hex HMAC-SHA256 of "<t>.<body>">`), within the
 * time limit. Only a 2xx counts; a redirect is not followed (a receiver that moved is a failure to
 * fix in the configuration, not a hop to take with a signed body).
 */
export async function postWebhook(o: { url: string; secret: string; id: string; body: string; attempt: number; timeoutMs: number; nowMs: number }): Promise<PostResult> {
  try {
    const res = await fetch(o.url, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(o.timeoutMs),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'pipewright-console',
        [WEBHOOK_HEADERS.signature]: signWebhook(o.secret, o.body, Math.floor(o.nowMs / 1000)),
        [WEBHOOK_HEADERS.id]: o.id,
        [WEBHOOK_HEADERS.attempt]: String(o.attempt),
      },
      body: o.body,
    });
    await res.body?.cancel().catch(() => undefined);
    return res.status >= 200 && res.status < 300 ? { ok: true, status: res.status } : { ok: false, reason: `HTTP ${res.status}` };
  } catch (err) {
    return { ok: false, reason: err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${o.timeoutMs} ms` : err instanceof Error ? err.message : String(err) };
  }
}
