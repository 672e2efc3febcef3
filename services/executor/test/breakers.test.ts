import { afterEach, describe, expect, it } from 'vitest';
import { BreakerRegistry, type BreakerChange, type CallFailure, type CallOutcome } from '../src/index.js';

const target = { provider: 'default', model: 'm' };
const ok: CallOutcome = { ok: true, text: '{}', toolCalls: [], usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 }, finishReason: 'stop', responseModel: 'm', responseId: 'r' };
const fail = (f: Partial<CallFailure> & Pick<CallFailure, 'code' | 'providerFault'>): CallOutcome => ({ ok: false, failure: { message: f.code, retryable: true, ...f } });
const http500 = fail({ code: 'provider_5xx', status: 500, providerFault: true });
const timeout = fail({ code: 'timeout', providerFault: true });
const http429 = fail({ code: 'rate_limited', status: 429, providerFault: false, retryAfterMs: 1_000 });
const http400 = fail({ code: 'http_400', status: 400, providerFault: false, retryable: false });

const registries: BreakerRegistry[] = [];
function registry(opts: Partial<{ volumeThreshold: number; resetTimeoutMs: number }> = {}): { reg: BreakerRegistry; changes: BreakerChange[] } {
  const changes: BreakerChange[] = [];
  const reg = new BreakerRegistry({ errorThresholdPct: 50, volumeThreshold: opts.volumeThreshold ?? 4, resetTimeoutMs: opts.resetTimeoutMs ?? 60_000, windowMs: 10_000 }, (c) => changes.push(c));
  registries.push(reg);
  return { reg, changes };
}
afterEach(() => {
  for (const r of registries.splice(0)) r.shutdown();
});

describe('model breakers', () => {
  it('opens on provider faults once the volume threshold is reached, and then refuses without calling', async () => {
    const { reg, changes } = registry({ volumeThreshold: 4 });
    const b = reg.get(target, 'http://a/v1');
    let calls = 0;
    const call = (o: CallOutcome) => () => (calls++, Promise.resolve(o));
    for (const o of [http500, timeout, http500]) expect(await b.run(call(o))).toEqual(o);
    expect(b.state()).toBe('closed');
    await b.run(call(timeout));
    expect(b.state()).toBe('open');
    expect(b.refusing()).toBe(true);
    expect(b.reopensInMs()).toBeGreaterThan(59_000);
    expect(await b.run(call(ok))).toEqual({ ok: false, rejected: true });
    expect(calls).toBe(4);
    expect(changes).toEqual([{ provider: 'default', model: 'm', endpoint: 'http://a/v1', state: 'open' }]);
  });

  it('is not tripped by rate limits or other 4xx: the provider answered', async () => {
    const { reg } = registry({ volumeThreshold: 2 });
    const b = reg.get(target, 'http://a/v1');
    for (let i = 0; i < 20; i++) expect(await b.run(() => Promise.resolve(i % 2 ? http429 : http400))).toMatchObject({ ok: false, failure: { providerFault: false } });
    expect(b.state()).toBe('closed');
  });

  it('lets one probe through after the reset timeout and closes when it succeeds', async () => {
    const { reg, changes } = registry({ volumeThreshold: 1, resetTimeoutMs: 100 });
    const b = reg.get(target, 'http://a/v1');
    await b.run(() => Promise.resolve(http500));
    expect(b.state()).toBe('open');
    await new Promise((r) => setTimeout(r, 150));
    expect(b.state()).toBe('half-open');
    expect(b.refusing()).toBe(false);
    let release!: () => void;
    const probe = b.run(() => new Promise<CallOutcome>((r) => (release = () => r(ok))));
    // while the probe is out, everyone else is refused
    expect(b.refusing()).toBe(true);
    expect(await b.run(() => Promise.resolve(ok))).toEqual({ ok: false, rejected: true });
    release();
    expect(await probe).toEqual(ok);
    expect(b.state()).toBe('closed');
    expect(changes.map((c) => c.state)).toEqual(['open', 'half-open', 'closed']);
  });

  it('re-opens when the probe fails', async () => {
    const { reg } = registry({ volumeThreshold: 1, resetTimeoutMs: 50 });
    const b = reg.get(target, 'http://a/v1');
    await b.run(() => Promise.resolve(timeout));
    await new Promise((r) => setTimeout(r, 100));
    expect(b.state()).toBe('half-open');
    await b.run(() => Promise.resolve(timeout));
    expect(b.state()).toBe('open');
  });

  it('keeps one breaker per (endpoint, model)', () => {
    const { reg } = registry();
    expect(reg.get(target, 'http://a/v1')).toBe(reg.get({ provider: 'default', model: 'm' }, 'http://a/v1'));
    expect(reg.get(target, 'http://a/v1')).not.toBe(reg.get(target, 'http://b/v1'));
    expect(reg.get(target, 'http://a/v1')).not.toBe(reg.get({ provider: 'default', model: 'n' }, 'http://a/v1'));
  });
});
