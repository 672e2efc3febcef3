import { describe, expect, it } from 'vitest';
import { estimateTokens, ProviderLimiter, TokenBucket } from '../src/index.js';

/** A clock the test moves by hand. */
function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('TokenBucket', () => {
  it('starts full, refills at its per-minute rate and never beyond its capacity', () => {
    const c = clock();
    const b = new TokenBucket(60, c.now);
    expect(b.waitFor(60)).toBe(0);
    b.take(60);
    expect(b.waitFor(1)).toBe(1_000);
    c.advance(30_000);
    expect(b.waitFor(30)).toBe(0);
    c.advance(10 * 60_000);
    b.take(60);
    expect(b.waitFor(1)).toBe(1_000);
  });

  it('lets reservations run into debt so waiting callers are served in arrival order', () => {
    const c = clock();
    const b = new TokenBucket(60, c.now);
    b.take(60);
    expect(b.waitFor(1)).toBe(1_000);
    b.take(1);
    expect(b.waitFor(1)).toBe(2_000);
  });

  it('caps one request at the capacity so a huge call waits at most a minute', () => {
    const c = clock();
    const b = new TokenBucket(100, c.now);
    b.take(100);
    expect(b.waitFor(1_000_000)).toBe(60_000);
  });
});

describe('ProviderLimiter', () => {
  it('admits at once without limits', () => {
    expect(new ProviderLimiter({}).reserve(10_000, 0)).toEqual({ kind: 'admitted', waitMs: 0 });
  });

  it('waits for the slower of the request and token buckets, and refuses a wait past the deadline without taking capacity', () => {
    const c = clock();
    const l = new ProviderLimiter({ rpm: 120, tpm: 6_000 }, c.now);
    expect(l.reserve(6_000, 1_000)).toEqual({ kind: 'admitted', waitMs: 0 });
    // tokens are gone: 3000 tokens come back in 30 s at 100 tokens/s
    expect(l.reserve(3_000, 1_000)).toEqual({ kind: 'too-late', waitMs: 30_000 });
    expect(l.reserve(100, 1_000)).toEqual({ kind: 'admitted', waitMs: 1_000 });
    c.advance(1_000);
    expect(l.reserve(0, 1_000)).toEqual({ kind: 'admitted', waitMs: 0 });
  });

  it('gives a reservation back when its call was never sent', () => {
    const c = clock();
    const l = new ProviderLimiter({ rpm: 1, tpm: 100 }, c.now);
    expect(l.reserve(100, 0).kind).toBe('admitted');
    expect(l.reserve(100, 0).kind).toBe('too-late');
    l.release(100);
    expect(l.reserve(100, 0)).toEqual({ kind: 'admitted', waitMs: 0 });
  });

  it('charges the difference between the estimate and the real usage to later calls', () => {
    const c = clock();
    const l = new ProviderLimiter({ tpm: 6_000 }, c.now);
    expect(l.reserve(1_000, 0).kind).toBe('admitted');
    l.settle(1_000, 6_000);
    expect(l.reserve(1, 60_000)).toEqual({ kind: 'admitted', waitMs: 10 });
    l.settle(1, 0);
  });
});

describe('estimateTokens', () => {
  it('counts about four characters a token, a few per message, plus the output cap', () => {
    expect(estimateTokens([{ content: 'x'.repeat(400) }], 50)).toBe(100 + 4 + 50);
    expect(estimateTokens([{ content: '' }, { content: 'abcd' }], undefined)).toBe(1 + 8);
  });
});
