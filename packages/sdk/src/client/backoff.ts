import { setTimeout as sleep } from 'node:timers/promises';

/** Waits `ms`, or rejects with the signal's reason once it aborts. */
export async function pause(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, signal ? { signal } : {});
  } catch (err) {
    throw signal?.aborted ? signal.reason : err;
  }
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
