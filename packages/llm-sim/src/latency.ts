// Simulated latency: how long to wait before answering. Waits are abortable so that a closing server
// or a departed client never leaves a timer holding the process open.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Random } from './prng.js';
import type { LatencyConfig } from './sim-config.js';

/** Upper bound for `X-Sim-Latency-Ms`, so a typo cannot park a request for a day. */
export const MAX_HEADER_LATENCY_MS = 600_000;

/** Parses `X-Sim-Latency-Ms`; undefined when absent, an Error when not a number in range. */
export function parseLatencyHeader(value: string | string[] | undefined): number | undefined | Error {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || raw.trim() === '') return undefined;
  const ms = Number(raw);
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_HEADER_LATENCY_MS) {
    return new Error(`X-Sim-Latency-Ms must be a number of milliseconds in [0, ${MAX_HEADER_LATENCY_MS}]; got '${raw}'`);
  }
  return ms;
}

/**
 * Milliseconds to wait: `fixedMs` plus a uniform sample from [meanMs ± jitterMs] when `meanMs` is set,
 * else from [minMs, maxMs]. Consumes exactly one draw from `random` whatever the config.
 */
export function sampleLatencyMs(config: LatencyConfig | undefined, random: Random): number {
  const r = random();
  if (config === undefined) return 0;
  const fixed = config.fixedMs ?? 0;
  let lo: number;
  let hi: number;
  if (config.meanMs !== undefined) {
    const jitter = config.jitterMs ?? 0;
    lo = Math.max(0, config.meanMs - jitter);
    hi = config.meanMs + jitter;
  } else {
    lo = config.minMs ?? 0;
    hi = config.maxMs ?? lo;
  }
  return fixed + lo + (hi - lo) * r;
}

/** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
export async function waitMs(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return;
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    // Aborted: the client left or the server is closing; the caller checks the response state.
  }
}
