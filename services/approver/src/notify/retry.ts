import { RetryableError, TerminalError, errorMessage } from '@pipewright/kit';

/** Bounds of one notification's delivery: attempts, full-jitter backoff, and an overall deadline. */
export interface DeliveryPolicy {
  maxAttempts: number;
  /** Per-attempt time limit. */
  attemptTimeoutMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** No attempt starts after this long since the first. */
  deadlineMs: number;
}

export type DeliveryResult = { ok: true; attempts: number } | { ok: false; attempts: number; error: string };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/** Runs `attempt` until it succeeds, fails terminally, or the policy's bounds run out. Never throws. */
export async function deliver(attempt: (signal: AbortSignal) => Promise<void>, p: DeliveryPolicy): Promise<DeliveryResult> {
  const started = Date.now();
  let last = 'no attempt';
  for (let n = 1; n <= p.maxAttempts; n++) {
    try {
      await attempt(AbortSignal.timeout(p.attemptTimeoutMs));
      return { ok: true, attempts: n };
    } catch (err) {
      last = errorMessage(err);
      if (err instanceof TerminalError) return { ok: false, attempts: n, error: last };
      const jitter = Math.random() * Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** (n - 1));
      const delay = err instanceof RetryableError && err.retryAfterMs !== undefined ? Math.min(err.retryAfterMs, p.maxDelayMs) : jitter;
      if (n === p.maxAttempts || Date.now() - started + delay > p.deadlineMs) return { ok: false, attempts: n, error: last };
      await sleep(delay);
    }
  }
  return { ok: false, attempts: p.maxAttempts, error: last };
}

/**
 * POSTs a body and maps the answer to our error types: 2xx is done; 408, 429 (honouring Retry-After)
 * and 5xx may succeed later; any other status will fail the same way again. Connection errors and
 * timeouts are retryable.
 */
export async function postBody(url: string, body: string, headers: Readonly<Record<string, string>>, signal: AbortSignal): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', body, headers, signal, redirect: 'error' });
  } catch (err) {
    throw new RetryableError(`POST ${redact(url)}: ${errorMessage(err)}`);
  }
  await res.arrayBuffer().catch(() => undefined); // free the connection
  if (res.ok) return;
  const what = `POST ${redact(url)}: HTTP ${res.status}`;
  if (res.status === 408 || res.status === 429 || res.status >= 500) throw new RetryableError(what, retryAfterMs(res.headers.get('retry-after')));
  throw new TerminalError(what, `http_${res.status}`);
}

/** Retry-After as seconds or an HTTP date. */
export function retryAfterMs(value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const when = Date.parse(value);
  return Number.isNaN(when) ? undefined : Math.max(0, when - Date.now());
}

/** Webhook URLs carry their secret in the path (Slack's do): log only the origin. */
export function redact(url: string): string {
  try {
    return `${new URL(url).origin}/…`;
  } catch {
    return '(bad url)';
  }
}
