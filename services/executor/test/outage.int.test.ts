import { afterEach, describe, expect, it } from 'vitest';
import { command, keyOf, startHarness, type Harness } from './harness.js';

const VOLUME = 4;
const RESET_MS = 600;

/**
 * Breakers, fallbacks and parking through the real openai client against the simulator. Each test has
 * its own simulator and its own breakers (a breaker lives as long as its executor process).
 */
describe('outages: breakers, fallback and parking', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });
  const start = (extra: Record<string, string> = {}) =>
    startHarness({ PW_BREAKER_VOLUME_THRESHOLD: String(VOLUME), PW_BREAKER_RESET_TIMEOUT_MS: String(RESET_MS), PW_BREAKER_ERROR_THRESHOLD_PCT: '50', PW_BREAKER_WINDOW_MS: '10000', ...extra }, { faults: { perModel: { 'sim-a': { down: true } } } });

  it('opens the breaker of a model that is down within its volume threshold; the fallback serves and A is no longer called', async () => {
    h = await start();
    const outcomes = [];
    for (let i = 0; i < 6; i++) outcomes.push(await h.run(command({ model: 'sim-a', fallbacks: [{ provider: 'b', model: 'sim-b' }], retry: { maxAttempts: 2 } })));
    for (const o of outcomes) expect(o).toMatchObject({ kind: 'succeeded', rung: 'fallback-model', model: { provider: 'b', model: 'sim-b' } });
    const c = h.sim.counters();
    expect(c.byModel['sim-a']).toBe(VOLUME);
    expect(c.byModel['sim-b']).toBe(6);
    expect(h.breakers.get({ provider: 'default', model: 'sim-a' }, h.providers.get('default').baseURL).state()).toBe('open');
    // after the breaker opened, steps went straight to the fallback
    expect(outcomes.slice(2).map((o) => o.kind === 'succeeded' && o.calls)).toEqual([1, 1, 1, 1]);
    expect(outcomes.at(-1)).toMatchObject({ breakers: { state: 'closed', chain: ['default/sim-a=open', 'b/sim-b=closed'] } });
  });

  it('parks the step when the only model is down, and serves it once the provider answers again', async () => {
    h = await start();
    const cmd = () => command({ model: 'sim-a', retry: { maxAttempts: 2 } });
    const first = await h.run(cmd());
    const second = await h.run(cmd());
    // two calls each: the first step spent its retries with the breaker still closed, the second opened it
    expect(first).toMatchObject({ kind: 'parked', calls: 2, reason: expect.stringContaining('provider_5xx after its retries') });
    expect(second).toMatchObject({ kind: 'parked', calls: 2 });
    const third = await h.run(cmd());
    expect(third).toMatchObject({ kind: 'parked', calls: 0, reason: expect.stringContaining('breaker of default/sim-a is open'), breakers: { state: 'open' } });
    if (third.kind !== 'parked') throw new Error('unreachable');
    expect(third.delayMs).toBeGreaterThan(0);
    expect(third.delayMs).toBeLessThanOrEqual(RESET_MS + RESET_MS / 2);
    expect(h.sim.counters().byModel['sim-a']).toBe(VOLUME);

    h.sim.setConfig({});
    await new Promise((r) => setTimeout(r, RESET_MS + 100));
    const again = await h.run(cmd());
    expect(again).toMatchObject({ kind: 'succeeded', rung: 'direct', calls: 1, breakers: { state: 'closed' } });
  });

  it('parks for about a reset timeout when retries are spent while the breaker is still closed', async () => {
    h = await start({ PW_BREAKER_VOLUME_THRESHOLD: '1000' });
    const out = await h.run(command({ model: 'sim-a', retry: { maxAttempts: 3 } }));
    expect(out).toMatchObject({ kind: 'parked', calls: 3, breakers: { state: 'closed' } });
    if (out.kind !== 'parked') throw new Error('unreachable');
    expect(out.delayMs).toBeGreaterThanOrEqual(RESET_MS);
    expect(out.delayMs).toBeLessThanOrEqual(RESET_MS * 1.5);
  });

  it('parks without calling when the provider has no rate-limit capacity before the step deadline', async () => {
    h = await start({ PW_RATE_LIMIT_RPM: '1' });
    const ok = await h.run(command({ model: 'sim-ok' }));
    expect(ok).toMatchObject({ kind: 'succeeded', calls: 1 });
    const cmd = command({ model: 'sim-ok', retry: { deadlineMs: 2_000 } });
    const out = await h.run(cmd);
    expect(out).toMatchObject({ kind: 'parked', calls: 0, reason: expect.stringContaining('rate_limited_locally') });
    if (out.kind !== 'parked') throw new Error('unreachable');
    expect(out.delayMs).toBeGreaterThan(50_000);
    expect(h.sim.counters().byKey[keyOf(cmd)]).toBeUndefined();
  });

  it('never parks past the run deadline, and fails the step once the deadline has passed', async () => {
    h = await start();
    const soon = new Date(Date.now() + 1_500).toISOString();
    const out = await h.run(command({ model: 'sim-a', retry: { maxAttempts: 1 }, deadlineAt: soon }));
    expect(out).toMatchObject({ kind: 'parked' });
    if (out.kind === 'parked') expect(out.delayMs).toBeLessThanOrEqual(1_501);
    const late = await h.run(command({ model: 'sim-a', deadlineAt: new Date(Date.now() - 1).toISOString() }));
    expect(late).toMatchObject({ kind: 'failed', calls: 0, error: { code: 'deadline_exceeded', retryable: false } });
  });
});
