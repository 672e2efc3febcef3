import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStack, submitRun } from '@pipewright/cli';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveries, EventLog, logLines } from './support.js';

const RUNS = 100;
const RETRY = { maxAttempts: 8, initialIntervalMs: 20, backoffCoefficient: 2, maxIntervalMs: 200, deadlineMs: 20_000 };
const capMs = (retry: number) => Math.min(RETRY.maxIntervalMs, RETRY.initialIntervalMs * RETRY.backoffCoefficient ** (retry - 1));
const RETRY_AFTER_MS = 50;

const pipeline = {
  name: 'flaky-five',
  defaults: { model: 'sim-flaky', timeoutMs: 2_000, retry: RETRY },
  steps: [
    { id: 'outline', prompt: 'Outline {{input.topic}}', output: { type: 'object', properties: { title: { type: 'string' }, parts: { type: 'integer', minimum: 1, maximum: 5 } }, required: ['title', 'parts'] } },
    { id: 'facts', needs: ['outline'], prompt: 'Facts for {{steps.outline.output.title}}' },
    { id: 'quotes', needs: ['outline'], prompt: 'Quotes for {{steps.outline.output.title}}' },
    { id: 'draft', needs: ['facts', 'quotes'], prompt: 'Draft from {{steps.facts.output}} and {{steps.quotes.output}}' },
    { id: 'review', needs: ['draft'], prompt: 'Review {{steps.draft.output}}', output: { type: 'object', properties: { verdict: { type: 'string', enum: ['ship', 'fix'] } }, required: ['verdict'] } },
  ],
};

/**
 * A provider that fails 30% of calls (10% 429 with Retry-After, 10% 500, 10% hangs cut by the per-call
 * timeout), two executor processes sharing one pool: every run succeeds, no delivery of a step makes
 * more calls than its max attempts, and the retry delays are jittered within their caps.
 */
describe('a flaky provider does not take runs down', () => {
  let stack: LocalStack;
  let events: EventLog;
  let nc: NatsConnection;
  const logDir = mkdtempSync(join(tmpdir(), 'pw-flaky-'));

  beforeAll(async () => {
    stack = await LocalStack.start({
      services: ['planner', 'executor'],
      executors: 2,
      logDir,
      sim: { seed: 11, faults: { rate429: 0.1, retryAfterS: RETRY_AFTER_MS / 1000, rate500: 0.1, rateHang: 0.1 } },
      // The provider fails 30% of calls by design: a flaky provider, not an outage. The breaker must not
      // take it for one even when a loaded test machine adds timeouts (breakers have their own tests).
      env: { PW_EXECUTOR_CONCURRENCY: '16', PW_BREAKER_ERROR_THRESHOLD_PCT: '75', PW_BREAKER_VOLUME_THRESHOLD: '20', PW_BREAKER_RESET_TIMEOUT_MS: '2000' },
    });
    events = await EventLog.start(stack.natsOptions());
    nc = await connect(stack.natsOptions());
  });
  afterAll(async () => {
    await nc?.drain();
    await events?.close();
    await stack?.stop();
    if (process.env['PW_KEEP_LOGS'] === undefined) rmSync(logDir, { recursive: true, force: true });
  });

  it(`runs ${RUNS} five-step pipelines to success through 30% failed calls`, async () => {
    const js = jetstream(nc);
    const runIds = await Promise.all(Array.from({ length: RUNS }, (_, i) => submitRun(js, pipeline, { topic: `topic ${i}` }, { runId: `flaky-${i}` })));
    const ends = await events.allFinished(runIds, 60_000);
    expect(ends.filter((e) => e.status !== 'succeeded').map((e) => `${e.runId}: ${e.reason ?? ''}`)).toEqual([]);

    // the faults really happened, at about the configured rates
    const c = await stack.sim.counters();
    const faults = (c.byOutcome['429'] ?? 0) + (c.byOutcome['500'] ?? 0) + (c.byOutcome['hang'] ?? 0);
    expect(c.byOutcome['429']).toBeGreaterThan(20);
    expect(c.byOutcome['500']).toBeGreaterThan(20);
    expect(c.byOutcome['hang']).toBeGreaterThan(20);
    expect(faults / c.totalCalls).toBeGreaterThan(0.2);
    expect(faults / c.totalCalls).toBeLessThan(0.4);

    // no delivery of a step makes more calls than its max attempts, numbered 1..n
    let parkedSteps = 0;
    for (const runId of runIds) {
      const runEvents = events.events(runId);
      for (const step of pipeline.steps) {
        const seen = c.byKey[`${runId}:${step.id}`];
        expect(seen, `${runId}:${step.id}`).toBeDefined();
        for (const d of deliveries(seen!.attempts)) expect(d.at(-1), `${runId}:${step.id} ${seen!.attempts.join(',')}`).toBeLessThanOrEqual(RETRY.maxAttempts);
        const parked = runEvents.some((e) => e.type === 'step.parked' && e.stepId === step.id);
        if (parked) parkedSteps++;
        else expect(seen!.calls, `${runId}:${step.id}`).toBeLessThanOrEqual(RETRY.maxAttempts);
        // exactly one result per step, and the output of a schema step is valid (the run succeeded with it)
        expect(runEvents.filter((e) => e.type === 'step.completed' && e.stepId === step.id)).toHaveLength(1);
      }
    }
    // parking is the rare way out when eight attempts all fail (0.3^8 per step), or when a burst of
    // timeouts on a loaded machine opens the breaker for a moment; it must stay the exception
    expect(parkedSteps).toBeLessThan((RUNS * pipeline.steps.length) / 10);

    // retry delays: full jitter under the cap of their retry number; a 429 waits at least its Retry-After
    const retries = readdirSync(logDir).filter((f) => f.startsWith('executor-')).flatMap((f) => logLines(join(logDir, f))).filter((l) => l['msg'] === 'model call failed; retrying');
    expect(retries.length).toBeGreaterThan(50);
    const jittered = retries.filter((l) => l['code'] !== 'rate_limited');
    for (const l of jittered) {
      expect(l['capMs']).toBe(capMs(l['call'] as number));
      expect(l['delayMs']).toBeGreaterThanOrEqual(0);
      expect(l['delayMs']).toBeLessThanOrEqual(l['capMs'] as number);
    }
    const firstRetryDelays = jittered.filter((l) => l['call'] === 1).map((l) => l['delayMs'] as number);
    expect(new Set(firstRetryDelays).size).toBeGreaterThan(5);
    for (const l of retries.filter((x) => x['code'] === 'rate_limited')) expect(l['delayMs']).toBeGreaterThanOrEqual(RETRY_AFTER_MS);
  });
});
