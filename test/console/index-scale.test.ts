import { jetstream } from '@nats-io/jetstream';
import { LocalStack } from '@pipewright/cli';
import { SCHEMA_VERSION, subjects, type RunListPage } from '@pipewright/contracts';
import { encodeJson, openKvStores } from '@pipewright/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client } from '../support/run.js';
import { Api } from './support.js';

/** Runs put into PW_EVENTS (a run.started and a run.finished each). PW_CONSOLE_SCALE_RUNS overrides it. */
const RUNS = Number(process.env['PW_CONSOLE_SCALE_RUNS'] ?? 100_000);
/** Publishes in flight at once. */
const WINDOW = 2_000;
const SAMPLES = 51;
const T0 = Date.parse('2026-11-01T00:00:00.000Z');

/**
 * The index at the scale of issue 13's target: 100,000 runs (1 % failed, 100 batches of 1,000) written
 * straight into PW_EVENTS, a console started afterwards replays them, and the first page filtered by
 * status or by label is asked for through HTTP. Prints the figures.
 */
describe(`runs index at ${RUNS.toLocaleString('en')} runs`, () => {
  let stack: LocalStack;
  let publishMs = 0;

  beforeAll(async () => {
    stack = await LocalStack.start({ services: [] });
    const c = await client(stack.natsOptions('admin'));
    // The run store, as the planner (absent here) would create it: the console only reads it.
    await openKvStores(c.nc);
    const js = jetstream(c.nc);
    const t = performance.now();
    const inFlight = new Set<Promise<unknown>>();
    for (let i = 0; i < RUNS; i++) {
      const runId = `scale-${i}`;
      const at = new Date(T0 + i * 10).toISOString();
      const started = { schemaVersion: SCHEMA_VERSION, type: 'run.started', runId, at, pipeline: i % 2 ? 'odd' : 'even', tenant: 'default', steps: ['a', 'b'], labels: { batch: `b${i % 100}` } };
      const failed = i % 100 === 0;
      const finished = { schemaVersion: SCHEMA_VERSION, type: 'run.finished', runId, at: new Date(T0 + i * 10 + 5).toISOString(), status: failed ? 'failed' : 'succeeded', usage: { inputTokens: 5, outputTokens: 5, totalTokens: 10 }, costUsd: 0.001, durationMs: 5, ...(failed ? { reason: 'step a failed' } : {}) };
      for (const [type, body] of [['run.started', started], ['run.finished', finished]] as const) {
        const p = js.publish(subjects.runEvent(runId, type), encodeJson(body)).finally(() => inFlight.delete(p));
        inFlight.add(p);
        if (inFlight.size >= WINDOW) await Promise.race(inFlight);
      }
    }
    await Promise.all(inFlight);
    publishMs = performance.now() - t;
    await c.close();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('replays them, then serves the first filtered page with p50 under 50 ms', async () => {
    const t = performance.now();
    // resolves once /readyz answers 200, which the console says only when its index has caught up
    await stack.startService('console');
    const replayMs = performance.now() - t;
    const api = Api.of(stack);
    const p50 = async (query: string, expected: (page: RunListPage) => void) => {
      const ms: number[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        const s = performance.now();
        const r = await api.get<RunListPage>(`/runs?${query}`);
        ms.push(performance.now() - s);
        expect(r.status).toBe(200);
        if (i === 0) expected(r.body);
      }
      return ms.sort((a, b) => a - b)[Math.floor(SAMPLES / 2)]!;
    };
    const byStatus = await p50('status=failed', (p) => {
      expect(p.runs).toHaveLength(50);
      expect(p.runs.every((r) => r.status === 'failed')).toBe(true);
      expect(p.runs[0]!.runId).toBe(`scale-${Math.floor((RUNS - 1) / 100) * 100}`);
    });
    const byLabel = await p50('label=batch=b7', (p) => {
      expect(p.runs).toHaveLength(50);
      expect(p.runs.every((r) => r.labels['batch'] === 'b7')).toBe(true);
    });
    const both = await p50('status=failed&label=batch=b0&pipeline=even', (p) => expect(p.runs).toHaveLength(50));
    const unfiltered = await p50('limit=50', (p) => expect(p.runs).toHaveLength(50));
    const batch = await api.get<{ total: number; counts: Record<string, number> }>('/batches?label=batch=b3');
    expect(batch.body).toMatchObject({ total: RUNS / 100, counts: { succeeded: RUNS / 100 } });
    console.log(
      [
        `runs-list: ${RUNS.toLocaleString('en')} runs (${(2 * RUNS).toLocaleString('en')} events) published in ${(publishMs / 1000).toFixed(1)} s`,
        `  console start to ready (replay of PW_EVENTS): ${(replayMs / 1000).toFixed(1)} s`,
        `  first page through HTTP, p50 of ${SAMPLES}: status=failed ${byStatus.toFixed(1)} ms, label=batch=b7 ${byLabel.toFixed(1)} ms, status+label+pipeline ${both.toFixed(1)} ms, unfiltered ${unfiltered.toFixed(1)} ms`,
      ].join('\n'),
    );
    expect(byStatus).toBeLessThan(50);
    expect(byLabel).toBeLessThan(50);
  });
});
