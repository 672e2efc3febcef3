// Bounded waiting. Every wait in devstack has a deadline and, when it runs out, an error that names
// what it waited for.
import { WaitTimeoutError } from './errors.js';

/** How long `waitFor` polls by default. */
export const DEFAULT_WAIT_TIMEOUT_MS = 10_000;
/** The pause between two polls by default. */
export const DEFAULT_POLL_INTERVAL_MS = 100;

export interface WaitForOptions {
  /** Give up after this long. @default 10_000 */
  timeoutMs?: number;
  /** Pause between two calls of `fn`. @default 100 */
  intervalMs?: number;
  /** Stop polling early; the wait then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Calls `fn` until it returns something other than `undefined`, and resolves with that. A call that
 * throws counts as "not yet" (a refused connection, a 503); the last such error is the `cause` of the
 * timeout error. A call that hangs is cut off by the deadline too.
 *
 * @throws WaitTimeoutError `timed out after <timeoutMs>ms waiting for <what>`
 */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  opts: WaitForOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
  const intervalMs = opts.intervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    opts.signal?.throwIfAborted();
    const remainingMs = deadline - Date.now();
    if (remainingMs <= 0) break;
    try {
      const attempt = Promise.resolve().then(fn);
      const outcome = await settleWithin(attempt, remainingMs);
      if (outcome.settled && outcome.value !== undefined) return outcome.value;
    } catch (err) {
      lastError = err;
    }
    const pauseMs = Math.min(intervalMs, deadline - Date.now());
    if (pauseMs <= 0) break;
    await sleep(pauseMs, opts.signal);
  }
  const lastMessage = lastError === undefined ? undefined : describe(lastError);
  throw new WaitTimeoutError(what, timeoutMs, {
    cause: lastError,
    ...(lastMessage === undefined ? {} : { details: `last error: ${lastMessage}` }),
  });
}

/** Resolves after `ms`; rejects with the signal's reason when it is aborted first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The outcome of `settleWithin`: the value when the promise resolved in time. */
export type Settled<T> = { settled: true; value: T } | { settled: false };

/**
 * Waits for `promise` at most `ms`. Resolves `{ settled: false }` when time ran out (the promise keeps
 * running; a later rejection of it is swallowed); rejects when the promise rejects in time.
 */
export function settleWithin<T>(promise: Promise<T>, ms: number): Promise<Settled<T>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve({ settled: false }), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve({ settled: true, value });
      },
      (err: Error) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err) ?? typeof err;
  } catch {
    return typeof err;
  }
}
