import { JetStreamApiError } from '@nats-io/jetstream';
import { ClosedConnectionError, errors, NoRespondersError, PermissionViolationError, RequestError } from '@nats-io/transport-node';
import { MongoNetworkError } from 'mongodb';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ConfigError, RetryableError, TerminalError } from '../src/errors.js';
import { metricsMark } from '../src/service/metrics-mark.js';
import { Shutdown } from '../src/service/shutdown.js';
import { retryStartup, StartupError, startupDelayMs, STARTUP_RETRY_BASE_MS, STARTUP_RETRY_MAX_MS } from '../src/service/startup-retry.js';
import { isTransient } from '../src/service/transient.js';

const apiError = (code: number) => new JetStreamApiError({ code: 503, err_code: code, description: `api error ${code}` });

/** A real pino logger whose lines land in an array. */
function capturedLog() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}

describe('transient start-up faults', () => {
  it('retries what a broker that is not (yet) there answers', () => {
    expect(isTransient(new errors.TimeoutError())).toBe(true);
    expect(isTransient(new NoRespondersError('$JS.API.INFO'))).toBe(true);
    // how @nats-io/jetstream reports a server without JetStream: JetStreamNotEnabled ← RequestError ← NoRespondersError
    const noResponders = new RequestError('no responders', { cause: new NoRespondersError('$JS.API.INFO') });
    expect(isTransient(Object.assign(new Error('jetstream is not enabled', { cause: noResponders }), { name: 'JetStreamNotEnabled' }))).toBe(true);
    expect(isTransient(new ClosedConnectionError())).toBe(true);
    expect(isTransient(new MongoNetworkError('connection refused'))).toBe(true);
    expect(isTransient(new RetryableError('later'))).toBe(true);
    for (const code of [10008, 10009, 10005, 10076]) expect(isTransient(apiError(code))).toBe(true);
    // a wrapper we do not know is judged by its cause
    expect(isTransient(new Error('opening the KV buckets failed', { cause: new errors.TimeoutError() }))).toBe(true);
  });

  it('does not retry a refusal, a bug or a configuration error', () => {
    expect(isTransient(apiError(10074))).toBe(false); // replicas > 1 on a single server
    expect(isTransient(apiError(10058))).toBe(false); // stream name in use with another config
    expect(isTransient(apiError(10039))).toBe(false); // the account has no JetStream
    expect(isTransient(new PermissionViolationError('denied', 'publish', '$JS.API.STREAM.CREATE.X'))).toBe(false);
    expect(isTransient(new TypeError('undefined is not a function'))).toBe(false);
    expect(isTransient(new ConfigError(['PW_X: bad']))).toBe(false);
    expect(isTransient(new TerminalError('no', 'bad', { cause: new errors.TimeoutError() }))).toBe(false);
    expect(isTransient('a string')).toBe(false);
  });
});

describe('retryStartup', () => {
  it('retries transient errors, logging each retry, until the step succeeds', async () => {
    const { log, lines } = capturedLog();
    let attempts = 0;
    let cleanups = 0;
    const value = await retryStartup(
      'streams',
      () => {
        attempts++;
        return attempts < 3 ? Promise.reject(new errors.TimeoutError()) : Promise.resolve('done');
      },
      { log, delayMs: () => 0, cleanup: () => Promise.resolve(void cleanups++) },
    );
    expect(value).toBe('done');
    expect([attempts, cleanups]).toEqual([3, 2]);
    expect(lines.map((l) => [l['step'], l['retry']])).toEqual([
      ['streams', 1],
      ['streams', 2],
    ]);
    expect(lines[0]?.['msg']).toContain('transient');
  });

  it('stops at the first error that is not transient, naming the step and the API code', async () => {
    const { log, lines } = capturedLog();
    const failed = retryStartup('streams', () => Promise.reject(apiError(10074)), { log, delayMs: () => 0 });
    await expect(failed).rejects.toBeInstanceOf(StartupError);
    await expect(failed).rejects.toMatchObject({ step: 'streams', message: expect.stringContaining('JetStream API error 10074') });
    expect(lines).toEqual([]);
  });

  it('waits a full-jitter delay whose cap doubles from 250 ms to 5 s', () => {
    const draws = (retry: number) => Array.from({ length: 300 }, () => startupDelayMs(retry));
    for (const [retry, cap] of [
      [1, 250],
      [3, 1_000],
      [5, 4_000],
      [6, 5_000],
      [40, 5_000],
    ] as const) {
      const d = draws(retry);
      expect(Math.min(...d)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...d)).toBeLessThanOrEqual(cap);
      // uniform over [0, cap]: 300 draws all in the lower half has probability 2^-300
      expect(Math.max(...d)).toBeGreaterThan(cap / 2);
    }
    expect([STARTUP_RETRY_BASE_MS, STARTUP_RETRY_MAX_MS]).toEqual([250, 5_000]);
  });
});

describe('Shutdown.unwind', () => {
  it('runs and forgets the steps registered after a mark, newest first', async () => {
    const { log } = capturedLog();
    const s = new Shutdown(log, 1_000);
    const ran: string[] = [];
    s.add('nats', () => Promise.resolve(void ran.push('nats')));
    const mark = s.mark();
    s.add('store', () => Promise.resolve(void ran.push('store')));
    s.add('consumer', () => Promise.reject(new Error('already stopped')));
    s.add('http', () => Promise.resolve(void ran.push('http')));
    await s.unwind(mark);
    expect(ran).toEqual(['http', 'store']);
    expect(s.mark()).toBe(mark);
    await s.run();
    expect(ran).toEqual(['http', 'store', 'nats']);
  });
});

describe('undoing a failed start-up attempt', () => {
  it('forgets the metrics the attempt registered, and keeps the ones from before', async () => {
    const { Counter, Registry } = await import('prom-client');
    const registry = new Registry();
    new Counter({ name: 'kept_total', help: 'registered before the attempt', registers: [registry] });
    const forget = metricsMark(registry);
    const attempt = () => new Counter({ name: 'pw_attempt_total', help: 'registered by an attempt', registers: [registry] });
    attempt();
    expect(() => attempt()).toThrow(/already been registered/);
    forget();
    expect(() => attempt()).not.toThrow();
    expect(registry.getMetricsAsArray().map((m) => m.name).sort()).toEqual(['kept_total', 'pw_attempt_total']);
  });
});
