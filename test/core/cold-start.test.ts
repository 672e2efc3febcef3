import { streams } from '@pipewright/contracts';
import { waitFor } from '@pipewright/devstack';
import { describe, expect, it } from 'vitest';
import { callsByKey, coreStack, dlqCount, figures, notOnce, ONLY, oneStepPipeline, runIdsOf, streamMessages } from './support.js';

const RUNS = 200;
const LATENCY_MS = 2_000;
/** 200 calls of 2 s at the default concurrency (32) take ~13 s; a cold process on a loaded machine, much more. */
const FINISH_MS = 180_000;

/**
 * An executor started cold into a full stream: 200 one-step runs are submitted while no executor runs
 * (planner and budget up), so their 200 commands wait in PW_STEPS; then one executor starts and meets
 * all of them at once, while it is still loading (tokenizer ranks, first connections, JIT). Nothing it
 * does while warming up may run a step twice.
 */
describe('one executor started cold into a backlog of 200 commands', () => {
  const stack = coreStack('cold-start', { services: ['planner', 'budget'], sim: { latency: { fixedMs: LATENCY_MS } } });

  it(`calls the model once for each of ${RUNS} steps and every run succeeds`, { timeout: FINISH_MS + 120_000 }, async () => {
    const core = stack();
    const started = Date.now();
    const dlqBefore = await dlqCount(core.nc);
    const runIds = runIdsOf('cold', RUNS);
    await core.submitAll(oneStepPipeline('cold-start'), runIds);
    const queued = await waitFor(`the ${RUNS} commands to be in PW_STEPS`, async () => {
      const n = await streamMessages(core.nc, streams.steps.name);
      return n >= RUNS ? n : undefined;
    }, { timeoutMs: 90_000, intervalMs: 200 });
    expect((await core.stack.sim.counters()).totalCalls, 'model calls before any executor ran').toBe(0);

    const coldAt = Date.now();
    await core.stack.startService('executor');
    const ends = await core.events.allFinished(runIds, FINISH_MS);
    const calls = callsByKey(await core.stack.sim.counters(), runIds.map((r) => `${r}:${ONLY}`));
    const repeated = notOnce(calls);
    const notSucceeded = ends.filter((e) => e.status !== 'succeeded').map((e) => `${e.runId}=${e.status}(${e.reason})`);
    const dlq = (await dlqCount(core.nc)) - dlqBefore;

    figures('cold-start', {
      runs: RUNS,
      queuedCommands: queued,
      succeeded: ends.length - notSucceeded.length,
      modelCalls: [...calls.values()].reduce((a, b) => a + b, 0),
      keysNotOnce: repeated.length,
      dlq,
      secondsAfterStart: Math.round((Date.now() - coldAt) / 1000),
      seconds: Math.round((Date.now() - started) / 1000),
    });
    expect(repeated, `steps whose model call count is not 1: ${repeated.slice(0, 20).join(', ')}`).toEqual([]);
    expect(notSucceeded, 'runs that did not succeed').toEqual([]);
    expect(dlq, 'messages dead-lettered during the test').toBe(0);
  });
});
