import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';

/** Why a model call failed, and whether trying again can help. */
export interface CallFailure {
  code: string;
  message: string;
  retryable: boolean;
  /** From Retry-After (or retry-after-ms) when the provider sent it. */
  retryAfterMs?: number;
  /** Counts against the provider's health (opens its breaker): outages, not bad requests. */
  providerFault: boolean;
  status?: number;
}

/**
 * Classifies an error from the openai client. Retry only what can succeed on retry: timeouts,
 * connection errors, 408/409/429 and 5xx. Other 4xx (bad request, auth, content filter) are terminal.
 */
export function classify(err: unknown, timedOut: boolean): CallFailure {
  if (timedOut || err instanceof APIConnectionTimeoutError)
    return { code: 'timeout', message: 'model call timed out', retryable: true, providerFault: true };
  if (err instanceof APIUserAbortError) return { code: 'aborted', message: 'model call aborted', retryable: true, providerFault: false };
  if (err instanceof APIConnectionError)
    return { code: 'connection', message: `connection error: ${err.message}`, retryable: true, providerFault: true };
  if (err instanceof APIError && typeof err.status === 'number') {
    const status = err.status;
    const retryAfterMs = parseRetryAfter(err.headers as Headers | undefined);
    const base = { status, message: `${status} ${err.message}`, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
    if (status === 429) return { ...base, code: 'rate_limited', retryable: true, providerFault: false };
    if (status === 408 || status === 409) return { ...base, code: `http_${status}`, retryable: true, providerFault: false };
    if (status >= 500) return { ...base, code: 'provider_5xx', retryable: true, providerFault: true };
    if (status === 401 || status === 403) return { ...base, code: 'auth', retryable: false, providerFault: false };
    return { ...base, code: `http_${status}`, retryable: false, providerFault: false };
  }
  return { code: 'unexpected', message: err instanceof Error ? err.message : String(err), retryable: false, providerFault: false };
}

function parseRetryAfter(headers: Headers | undefined): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms !== '' && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const s = headers.get('retry-after');
  if (s === null || s === '') return undefined;
  if (Number.isFinite(Number(s))) return Math.max(0, Number(s) * 1000);
  const at = Date.parse(s);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}
