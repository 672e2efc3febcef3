import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { LocalStack, submitRun } from '@pipewright/cli';
import { jaegerAvailable, startJaeger, waitFor, type JaegerHandle, type ProcessHandle } from '@pipewright/devstack';
import { openKvStores, type Stores } from '@pipewright/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jaegerFindTraces, jaegerTrace } from '../support/jaeger-query.js';
import { trailOf } from '../support/run.js';
import { EventLog, logLines, metricValue } from './support.js';

const FAST_RETRY = { maxAttempts: 2, initialIntervalMs: 10, backoffCoefficient: 2, maxIntervalMs: 50, deadlineMs: 10_000 };
const FALLBACK_VOLUME = 5;
const PARK_RESET_MS = 1_000;
const RPM = 30;
const LIMITED_ACK_WAIT_MS = 3_000;

/**
 * Provider outages end to end: planner and executors as processes, the simulator, the real openai
 * client. Each scenario has a pool and an executor of its own, configured for it (a breaker lives in
 * its executor process): `fallback` (model A down, B on another endpoint), `parking` (the only model
 * down, few deliveries allowed) and `limited` (a client-side rate limit longer than AckWait; a
 * concurrency above the burst, so no command waits long in the client's pull buffer, where no
 * heartbeat reaches it yet).
 */
describe('provider outages', () => {
  let stack: LocalStack;
  let events: EventLog;
  let nc: NatsConnection;
  let stores: Stores;
  let jaeger: JaegerHandle | undefined;
  const exec: Record<string, ProcessHandle> = {};
  const logDir = mkdtempSync(join(tmpdir(), 'pw-outage-'));

  beforeAll(async () => {
    stack = await LocalStack.start({ services: ['planner'], logDir, sim: { faults: { perModel: { 'sim-a': { down: true }, 'sim-p': { down: true } } } } });
    const backup = JSON.stringify({ backup: { baseURL: stack.sim.openaiBaseUrl } });
    jaeger = jaegerAvailable() ? await startJaeger() : undefined;
    if (!jaeger) console.warn('outage test: span checks skipped, no jaeger binary (run scripts/ensure-servers.sh jaeger, or set PW_JAEGER)');
    [exec['fallback'], exec['parking'], exec['limited']] = await Promise.all([
      stack.startService('executor', { PW_EXECUTOR_POOL: 'fallback', PW_PROVIDERS: backup, PW_BREAKER_VOLUME_THRESHOLD: String(FALLBACK_VOLUME), PW_BREAKER_RESET_TIMEOUT_MS: '60000', ...(jaeger ? { OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpHttpUrl } : {}) }),
      stack.startService('executor', { PW_EXECUTOR_POOL: 'parking', PW_BREAKER_VOLUME_THRESHOLD: '3', PW_BREAKER_RESET_TIMEOUT_MS: String(PARK_RESET_MS) }),
      stack.startService('executor', { PW_EXECUTOR_POOL: 'limited', PW_RATE_LIMIT_RPM: String(RPM), PW_EXECUTOR_ACK_WAIT_MS: String(LIMITED_ACK_WAIT_MS), PW_EXECUTOR_CONCURRENCY: '32' }),
    ]);
    events = await EventLog.start(stack.natsOptions());
    nc = await connect(stack.natsOptions());
    stores = await openKvStores(nc);
  });
  afterAll(async () => {
    await nc?.drain();
    await events?.close();
    await stack?.stop();
    await jaeger?.stop();
    if (process.env['PW_KEEP_LOGS'] === undefined) rmSync(logDir, { recursive: true, force: true });
  });
  const opsPort = (pool: string) => stack.opsPorts.get(exec[pool]!.name)!;

  it('opens the breaker of a model that is down within its volume threshold, and the fallback on another endpoint serves', async () => {
    const js = jetstream(nc);
    const pipeline = {
      name: 'fallback',
      defaults: { model: 'sim-a', fallbacks: [{ provider: 'backup', model: 'sim-b' }], pool: 'fallback', retry: FAST_RETRY, timeoutMs: 2_000 },
      steps: [
        { id: 'pick', prompt: 'Pick a number', output: { type: 'object', properties: { n: { type: 'integer', minimum: 1, maximum: 9 } }, required: ['n'] } },
        { id: 'use', needs: ['pick'], prompt: 'Use {{steps.pick.output.n}}' },
      ],
    };
    const runOne = async (i: number) => {
      const runId = await submitRun(js, pipeline, {}, { runId: `fallback-${i}` });
      return (await events.allFinished([runId], 15_000))[0]!;
    };
    // one run at a time, so the count of calls to A is exact
    for (let i = 0; i < 3; i++) expect(await runOne(i)).toMatchObject({ status: 'succeeded' });
    const afterOpen = (await stack.sim.counters()).byModel['sim-a'];
    expect(afterOpen).toBe(FALLBACK_VOLUME);
    expect(await metricValue(opsPort('fallback'), 'pw_breaker_state', { provider: 'default', model: 'sim-a' })).toBe(2);
    expect(await metricValue(opsPort('fallback'), 'pw_breaker_transitions_total', { model: 'sim-a', state: 'open' })).toBe(1);

    for (let i = 3; i < 8; i++) expect(await runOne(i)).toMatchObject({ status: 'succeeded' });
    const c = await stack.sim.counters();
    expect(c.byModel['sim-a']).toBe(FALLBACK_VOLUME); // A is no longer called
    expect(c.byModel['sim-b']).toBe(16);
    for (let i = 0; i < 8; i++) {
      const done = events.events(`fallback-${i}`).filter((e) => e.type === 'step.completed');
      expect(done.map((e) => e.type === 'step.completed' && [e.model, e.rung])).toEqual([
        [{ provider: 'backup', model: 'sim-b' }, 'fallback-model'],
        [{ provider: 'backup', model: 'sim-b' }, 'fallback-model'],
      ]);
    }
    // once open, a step goes straight to the fallback: one call
    expect(events.events('fallback-7').flatMap((e) => (e.type === 'step.completed' ? [e.calls] : []))).toEqual([1, 1]);
    if (!jaeger) return;
    const queryUrl = jaeger.queryUrl;
    // the step's span (read back from Jaeger) says which breakers it met: B's (closed) produced the outcome, A's was open
    const stepSpan = await waitFor('the span of a step served by the fallback', async () => {
      const [traceId] = await jaegerFindTraces(queryUrl, 'pipewright-executor', { 'pw.run.id': 'fallback-7' });
      const spans = traceId ? await jaegerTrace(queryUrl, traceId) : [];
      return spans.find((sp) => sp.attributes['messaging.destination.name'] === 'pw.steps.fallback.dispatch' && sp.name.startsWith('process step ') && JSON.stringify(sp.attributes['pw.breaker.chain'] ?? '').includes('default/sim-a=open'));
    }, { timeoutMs: 10_000, intervalMs: 200 });
    expect(stepSpan.attributes).toMatchObject({ 'pw.step.outcome': 'succeeded', 'pw.breaker.state': 'closed', 'pw.step.model': 'backup/sim-b' });
    // the calls to A that failed are ERROR chat spans with the error type
    const failedA = await waitFor('a failed call to sim-a', async () => {
      for (const id of await jaegerFindTraces(queryUrl, 'pipewright-executor', { 'error.type': 'provider_5xx' })) {
        const hit = (await jaegerTrace(queryUrl, id)).find((sp) => sp.name === 'chat sim-a' && sp.attributes['error.type'] === 'provider_5xx');
        if (hit) return hit;
      }
      return undefined;
    }, { timeoutMs: 10_000, intervalMs: 200 });
    expect(failedA.status.code).toBe(2);
  });

  it('parks steps while the only model is down (runs paused, never failed, never in the DLQ) and finishes them when it recovers', async () => {
    const js = jetstream(nc);
    const pipeline = {
      name: 'parking',
      defaults: { model: 'sim-p', pool: 'parking', retry: FAST_RETRY, timeoutMs: 2_000 },
      steps: [
        { id: 'first', prompt: 'First {{input.i}}' },
        { id: 'second', needs: ['first'], prompt: 'Then {{steps.first.output}}' },
      ],
    };
    const runIds = await Promise.all(Array.from({ length: 5 }, (_, i) => submitRun(js, pipeline, { i }, { runId: `parked-${i}` })));
    await waitFor('every run to be paused', async () => {
      const states = await Promise.all(runIds.map((id) => stores.runs.get(id)));
      return states.every((s) => s?.value.status === 'paused') ? true : undefined;
    }, { timeoutMs: 15_000 });
    // A parked step is handed back as often as the outage lasts: no delivery limit sends it to the DLQ.
    const parks = (id: string) => events.events(id).filter((e) => e.type === 'step.parked').length;
    await waitFor('a step parked again and again', () => (runIds.some((id) => parks(id) >= 4) ? true : undefined), { timeoutMs: 30_000 });
    for (const id of runIds) {
      const evs = events.events(id);
      expect(evs.some((e) => e.type === 'step.parked' && e.stepId === 'first' && e.reason.includes('sim-p'))).toBe(true);
      expect(evs.filter((e) => e.type === 'step.failed' || e.type === 'run.finished')).toEqual([]);
    }
    const dlq = await (await jetstreamManager(nc)).streams.info('PW_DLQ');
    expect(dlq.state.messages).toBe(0);
    const callsWhileDown = (await stack.sim.counters()).byModel['sim-p'] ?? 0;

    await stack.sim.setConfig({ faults: { perModel: { 'sim-a': { down: true } } } });
    const ends = await events.allFinished(runIds, 20_000);
    expect(ends.map((e) => e.status)).toEqual(runIds.map(() => 'succeeded'));
    for (const id of runIds) {
      expect(events.events(id).filter((e) => e.type === 'step.failed')).toEqual([]);
      const trail = (await trailOf(jetstream(nc), id)).map((d) => d.action);
      expect(trail).toEqual(expect.arrayContaining(['pause', 'resume']));
    }
    // while down, the open breaker kept calls to a handful (probes), not one per delivery
    const parkEvents = runIds.flatMap((id) => events.events(id).filter((e) => e.type === 'step.parked')).length;
    expect(callsWhileDown).toBeLessThan(parkEvents);
  });

  it('holds calls for the provider rate limit longer than AckWait without a redelivery or a second call', async () => {
    const js = jetstream(nc);
    const pipeline = { name: 'limited', defaults: { model: 'sim-ok', pool: 'limited', timeoutMs: 5_000 }, steps: [{ id: 'only', prompt: 'Count {{input.i}}' }] };
    const n = RPM + 3;
    const started = Date.now();
    const runIds = await Promise.all(Array.from({ length: n }, (_, i) => submitRun(js, pipeline, { i }, { runId: `limited-${i}` })));
    const ends = await events.allFinished(runIds, 20_000);
    expect(ends.every((e) => e.status === 'succeeded')).toBe(true);
    // the bucket holds RPM calls; the last three waited about 2, 4 and 6 s (one call every 2 s), less the refill meanwhile
    expect(Date.now() - started).toBeGreaterThanOrEqual(4_000);
    const jsm = await jetstreamManager(nc);
    const info = await waitFor('the limited pool to be idle', async () => {
      const i = await jsm.consumers.info('PW_STEPS', 'executor-limited');
      return i.num_ack_pending === 0 && i.num_pending === 0 ? i : undefined;
    }, { timeoutMs: 10_000 });
    expect(info.num_redelivered).toBe(0);
    // each command was handled once: heartbeats kept the waiting ones past their AckWait
    const handled = logLines(join(logDir, `${exec['limited']!.name}.log`)).filter((l) => l['pool'] === 'limited' && typeof l['runId'] === 'string');
    expect(handled.filter((l) => l['msg'] === 'step completed')).toHaveLength(n);
    expect(handled.filter((l) => String(l['msg']).includes('already completed'))).toEqual([]);
    const c = await stack.sim.counters();
    for (const id of runIds) expect(c.byKey[`${id}:only`]?.calls, id).toBe(1);
    const waited = await metricValue(opsPort('limited'), 'pw_rate_limit_wait_seconds_sum', { provider: 'default' });
    expect(waited).toBeGreaterThan(6);
    const withinAckWait = await metricValue(opsPort('limited'), 'pw_rate_limit_wait_seconds_bucket', { provider: 'default', le: String(LIMITED_ACK_WAIT_MS / 1000) });
    const count = await metricValue(opsPort('limited'), 'pw_rate_limit_wait_seconds_count', { provider: 'default' });
    expect(count! - withinAckWait!).toBeGreaterThanOrEqual(1);
  });
});
