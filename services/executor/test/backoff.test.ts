import { RetryPolicy } from '@pipewright/contracts';
import { describe, expect, it } from 'vitest';
import { backoffCapMs, backoffDelayMs, canRetry } from '../src/index.js';

const policy = RetryPolicy.parse({ maxAttempts: 5, initialIntervalMs: 100, backoffCoefficient: 2, maxIntervalMs: 500, deadlineMs: 10_000 });

describe('backoff', () => {
  it('grows the cap exponentially up to maxIntervalMs', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffCapMs(policy, n))).toEqual([100, 200, 400, 500, 500]);
  });

  it('draws a full-jitter delay uniformly between 0 and the cap', () => {
    expect(backoffDelayMs(policy, 3, undefined, () => 0)).toBe(0);
    expect(backoffDelayMs(policy, 3, undefined, () => 0.5)).toBe(200);
    expect(backoffDelayMs(policy, 3, undefined, () => 0.999_999)).toBe(400);
    const draws = Array.from({ length: 200 }, () => backoffDelayMs(policy, 2));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThanOrEqual(200);
    expect(new Set(draws).size).toBeGreaterThan(20);
  });

  it('never waits less than the provider asked for in Retry-After', () => {
    expect(backoffDelayMs(policy, 1, 1_500, () => 0.2)).toBe(1_500);
    expect(backoffDelayMs(policy, 1, 10, () => 0.9)).toBe(90);
  });

  it('stops at maxAttempts and before a delay that would pass either deadline', () => {
    expect(canRetry(policy, 4, 0, 0, 0)).toBe(true);
    expect(canRetry(policy, 5, 0, 0, 0)).toBe(false);
    expect(canRetry(policy, 1, 0, 500, 9_400)).toBe(true);
    expect(canRetry(policy, 1, 0, 700, 9_400)).toBe(false);
    expect(canRetry(policy, 1, 0, 100, 1_000, 1_050)).toBe(false);
  });
});
