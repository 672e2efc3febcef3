import { nanoToUsd, usageCost } from '@pipewright/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CallGate, GatedCall } from '../src/index.js';
import { command, keyOf, startHarness, type Harness } from './harness.js';

/**
 * Retries, timeouts, terminal errors and the call gate, through the real openai client. The breakers
 * live for the whole file, so each test uses a model of its own.
 */
describe('retries and terminal errors', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({}, {});
  });
  afterAll(async () => h?.stop());
  beforeEach(() => h.sim.resetCounters());

  it('retries a 500, a dropped connection and a hang (per-call timeout), numbering each call', async () => {
    const cmd = command({ model: 'sim-retry', timeoutMs: 300, retry: { maxAttempts: 4 } });
    h.sim.setConfig({ scripts: [{ match: { key: cmd.runId }, replies: [{ fault: '500' }, { fault: 'drop' }, { fault: 'hang' }, { fault: 'ok' }] }] });
    const started = Date.now();
    const out = await h.run(cmd);
    expect(out).toMatchObject({ kind: 'succeeded', calls: 4, rung: 'direct' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(h.sim.counters().byKey[keyOf(cmd)]).toMatchObject({ calls: 4, attempts: [1, 2, 3, 4] });
  });

  it('waits at least the Retry-After of a 429 before the next call', async () => {
    const cmd = command({ model: 'sim-429', retry: { maxAttempts: 2, initialIntervalMs: 1, maxIntervalMs: 1 } });
    h.sim.setConfig({ faults: { retryAfterS: 0.4 }, scripts: [{ match: { key: cmd.runId }, replies: [{ fault: '429' }, { fault: 'ok' }] }] });
    const started = Date.now();
    expect(await h.run(cmd)).toMatchObject({ kind: 'succeeded', calls: 2 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
  });

  it('fails at once on a terminal 4xx: no retry, no fallback', async () => {
    h.sim.setConfig({ models: ['sim-a', 'sim-b'] });
    const cmd = command({ model: 'no-such-model', fallbacks: [{ provider: 'b', model: 'sim-b' }], retry: { maxAttempts: 5 } });
    const out = await h.run(cmd);
    expect(out).toMatchObject({ kind: 'failed', calls: 1, error: { code: 'http_404', retryable: false } });
    expect(h.sim.counters().byModel).toEqual({ 'no-such-model': 1 });
  });

  it('fails with a clear error when a fallback names a provider that is not configured', async () => {
    h.sim.setConfig({});
    const cmd = command({ model: 'sim-unknown', fallbacks: [{ provider: 'nowhere', model: 'x' }] });
    h.sim.setConfig({ scripts: [{ match: { key: cmd.runId }, fault: '503' }] });
    expect(await h.run(cmd)).toMatchObject({ kind: 'failed', error: { code: 'unknown_provider', message: expect.stringContaining('nowhere') } });
  });

  it('asks the gate before every call, records each metered call with its usage (zero on failure) at the granted price, and stops on a refusal', async () => {
    h.sim.setConfig({});
    const price = { input: 1, output: 2 };
    const gate: CallGate = {
      admit: (c: GatedCall) =>
        Promise.resolve(
          c.call <= 2
            ? { kind: 'admitted' as const, reservation: { id: `r${c.call}`, price } }
            : { kind: 'refused' as const, error: { code: 'budget_exceeded', message: 'run budget of 10 tokens spent', retryable: false } },
        ),
    };
    const cmd = command({ model: 'sim-gate', retry: { maxAttempts: 5 } });
    h.sim.setConfig({ scripts: [{ match: { key: cmd.runId }, replies: [{ fault: '500' }, { fault: 'schema-break' }, { fault: 'ok' }] }] });
    const out = await h.run(cmd, { gate });
    expect(out).toMatchObject({ kind: 'failed', calls: 2, error: { code: 'budget_exceeded' } });
    if (out.kind !== 'failed') throw new Error('unreachable');
    expect(out.spend).toEqual([
      { reservationId: 'r1', model: cmd.call.model, usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 }, costUsd: 0 },
      { reservationId: 'r2', model: cmd.call.model, usage: expect.objectContaining({ totalTokens: expect.any(Number) }), costUsd: expect.any(Number) },
    ]);
    // the cost is the usage at the granted price, the same arithmetic the budget service charges with
    const used = out.spend[1]!.usage;
    expect(out.spend[1]!.costUsd).toBe(nanoToUsd(usageCost(price, used).nano));
    expect(out.costUsd).toBe(out.spend[1]!.costUsd);
    expect(h.sim.counters().byKey[keyOf(cmd)]?.calls).toBe(2);
  });

  it('hands the step back when the gate defers it, without calling', async () => {
    const gate: CallGate = { admit: () => Promise.resolve({ kind: 'deferred', delayMs: 1_234, reason: 'budget service unreachable' }) };
    const cmd = command({ model: 'sim-deferred' });
    expect(await h.run(cmd, { gate })).toMatchObject({ kind: 'deferred', delayMs: 1_234, calls: 0 });
    expect(h.sim.counters().totalCalls).toBe(0);
  });

  it('stops at once when shutdown aborts a retry wait', async () => {
    const cmd = command({ model: 'sim-shutdown', retry: { maxAttempts: 3, initialIntervalMs: 5_000, maxIntervalMs: 5_000 } });
    h.sim.setConfig({ scripts: [{ match: { key: cmd.runId }, fault: '500' }] });
    const ac = new AbortController();
    const started = Date.now();
    const p = h.run(cmd, { signal: ac.signal });
    setTimeout(() => ac.abort(), 200);
    expect(await p).toEqual({ kind: 'interrupted', spend: [] });
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
