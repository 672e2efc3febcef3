/** Waits `ms`, or rejects with the signal's reason once it aborts. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
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

/** Exponential backoff with full jitter: the n-th delay (from 0) is uniform in [0, min(max, base × 2^n)], at least `floor`. */
export function backoffMs(attempt: number, baseMs = 200, maxMs = 5_000, floorMs = 50): number {
  return Math.max(floorMs, Math.random() * Math.min(maxMs, baseMs * 2 ** attempt));
}

/** One signal out of several (undefined ones left out), plus an optional timeout. */
export function anySignal(signals: readonly (AbortSignal | undefined)[], timeoutMs?: number): AbortSignal | undefined {
  const all = [...signals.filter((s): s is AbortSignal => s !== undefined), ...(timeoutMs !== undefined ? [AbortSignal.timeout(timeoutMs)] : [])];
  return all.length === 0 ? undefined : all.length === 1 ? all[0] : AbortSignal.any(all);
}
