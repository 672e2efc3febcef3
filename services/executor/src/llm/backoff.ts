import type { RetryPolicy } from '@pipewright/contracts';

/** Upper bound of the delay before retry number `retry` (1 = the first retry): min(max, initial * coefficient^(retry-1)). */
export function backoffCapMs(policy: RetryPolicy, retry: number): number {
  return Math.min(policy.maxIntervalMs, policy.initialIntervalMs * policy.backoffCoefficient ** Math.max(0, retry - 1));
}

/**
 * Delay before retry number `retry`: full jitter, uniform in [0, backoffCapMs], never shorter than the
 * provider's Retry-After. `random` is injectable for tests.
 */
export function backoffDelayMs(policy: RetryPolicy, retry: number, retryAfterMs?: number, random: () => number = Math.random): number {
  const jittered = Math.round(random() * backoffCapMs(policy, retry));
  return retryAfterMs !== undefined ? Math.max(jittered, Math.ceil(retryAfterMs)) : jittered;
}

/** Whether another attempt fits: attempts left, and the delay does not pass the deadline. */
export function canRetry(policy: RetryPolicy, attemptsMade: number, startedAtMs: number, delayMs: number, nowMs: number, hardDeadlineMs?: number): boolean {
  if (attemptsMade >= policy.maxAttempts) return false;
  const deadline = Math.min(startedAtMs + policy.deadlineMs, hardDeadlineMs ?? Number.POSITIVE_INFINITY);
  return nowMs + delayMs < deadline;
}
