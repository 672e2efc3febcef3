/**
 * When a parked step is tried again. A parked step waits for a breaker to let a probe through (or for
 * a provider's Retry-After), plus jitter so that the steps parked by one outage do not all come back
 * in the same instant and trip the half-open probe together.
 */

/** Jitter added to a park delay, as a share of the breaker's reset timeout. */
export const PARK_JITTER_SHARE = 0.5;
/** Shortest park: a breaker whose probe is already out is re-checked after this at the earliest. */
export const PARK_MIN_DELAY_MS = 100;

export function parkDelayMs(waitMs: number, resetTimeoutMs: number, random: () => number = Math.random): number {
  return Math.max(PARK_MIN_DELAY_MS, Math.round(waitMs + random() * resetTimeoutMs * PARK_JITTER_SHARE));
}

/** A park never outlives the run: the delivery after its deadline fails the step as `deadline_exceeded`. */
export function clampToDeadline(delayMs: number, nowMs: number, hardDeadlineMs: number | undefined): number {
  if (hardDeadlineMs === undefined) return delayMs;
  return Math.max(PARK_MIN_DELAY_MS, Math.min(delayMs, hardDeadlineMs - nowMs + 1));
}
