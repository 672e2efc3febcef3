import { describe, expect, it } from 'vitest';
import { clampToDeadline, parkDelayMs, PARK_JITTER_SHARE, PARK_MIN_DELAY_MS } from '../src/index.js';

describe('park delay', () => {
  it('waits for the breaker plus up to half a reset timeout of jitter', () => {
    expect(parkDelayMs(2_000, 30_000, () => 0)).toBe(2_000);
    expect(parkDelayMs(2_000, 30_000, () => 1)).toBe(2_000 + 30_000 * PARK_JITTER_SHARE);
    const draws = Array.from({ length: 100 }, () => parkDelayMs(0, 1_000));
    expect(new Set(draws).size).toBeGreaterThan(10);
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(PARK_MIN_DELAY_MS);
    expect(Math.max(...draws)).toBeLessThanOrEqual(500);
  });

  it('never parks past the run deadline, nor for less than the minimum', () => {
    expect(clampToDeadline(10_000, 0, 3_000)).toBe(3_001);
    expect(clampToDeadline(10_000, 0, undefined)).toBe(10_000);
    expect(clampToDeadline(10_000, 5_000, 3_000)).toBe(PARK_MIN_DELAY_MS);
  });
});
