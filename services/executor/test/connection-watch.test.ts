import { describe, expect, it } from 'vitest';
import { ConnectionWatch } from '../src/ownership/connection-watch.js';

describe('ConnectionWatch', () => {
  const at = (t: { now: number }) => new ConnectionWatch(10_000, () => t.now);

  it('trusts an absence from the first connection on: a fresh executor may rescue at once', () => {
    const t = { now: 0 };
    const w = at(t);
    expect(w.trustsAbsence()).toBe(true);
    expect(w.epoch).toBe(0);
  });

  it('trusts none while disconnected, nor for the grace after a reconnect', () => {
    const t = { now: 1_000 };
    const w = at(t);
    w.observe({ type: 'disconnect' });
    expect(w.trustsAbsence()).toBe(false);
    t.now = 60_000; // however long the outage
    expect(w.trustsAbsence()).toBe(false);
    w.observe({ type: 'reconnect' });
    t.now = 60_000 + 9_999;
    expect(w.trustsAbsence()).toBe(false);
    t.now = 60_000 + 10_000;
    expect(w.trustsAbsence()).toBe(true);
  });

  it('changes its epoch at every drop, and at nothing else', () => {
    const t = { now: 0 };
    const w = at(t);
    w.observe({ type: 'reconnecting' });
    w.observe({ type: 'staleConnection' });
    expect(w.epoch).toBe(0);
    w.observe({ type: 'disconnect' });
    w.observe({ type: 'reconnect' });
    w.observe({ type: 'disconnect' });
    expect(w.epoch).toBe(2);
  });
});
