import { SIM_PRICES } from '@pipewright/cli';
import { streams } from '@pipewright/contracts';
import { waitFor } from '@pipewright/devstack';
import { describe, expect, it } from 'vitest';
import { budgetsOnceSettled, callsByKey, coreStack, dlqCount, figures, notOnce, ONLY, oneStepPipeline, runIdsOf, streamMessages } from './support.js';

const RUNS = 300;
const LATENCY_MS = 3_000;
const CONCURRENCY = 8;
/** 300 calls of 3 s, 8 at a time, take ~113 s at best; the rest is a loaded machine's slack. */
const FINISH_MS = 240_000;

/**
 * A backlog far deeper than one executor's concurrency, with slow calls: 300 one-step runs against one
 * executor handling 8 steps at once, each model call taking 3 s, so ~290 commands wait in PW_STEPS for
 * nearly two minutes and the ones held by the executor wait behind slow calls. A command that sits in
 * the stream, or in the executor's buffer, must never be run twice (AckWait is not a failure detector
 * any more), and every call is metered by the budget service through the real tokenizer.
 */
describe('a slow backlog deeper than the executor concurrency', () => {
  const stack = coreStack('slow-backlog', {
    services: ['planner', 'budget', 'executor'],
    env: { PW_EXECUTOR_CONCURRENCY: String(CONCURRENCY) },
    sim: { latency: { fixedMs: LATENCY_MS } },
  });

  it(`calls the model exactly once for each of ${RUNS} steps, all runs succeed, nothing dead-lettered`, { timeout: FINISH_MS + 60_000 }, async () => {
    const core = stack();
    const started = Date.now();
    const dlqBefore = await dlqCount(core.nc);
    const runIds = runIdsOf('backlog', RUNS);
    await core.submitAll(oneStepPipeline('slow-backlog'), runIds);
    // The backlog really forms: most commands wait in the stream while the first 8 calls run.
    const backlog = await waitFor('a backlog in PW_STEPS', async () => {
      const n = await streamMessages(core.nc, streams.steps.name);
      return n >= RUNS / 2 ? n : undefined;
    }, { timeoutMs: 60_000, intervalMs: 200 });

    const ends = await core.events.allFinished(runIds, FINISH_MS);
    const counters = await core.stack.sim.counters();
    const calls = callsByKey(counters, runIds.map((r) => `${r}:${ONLY}`));
    const repeated = notOnce(calls);
    const notSucceeded = ends.filter((e) => e.status !== 'succeeded').map((e) => `${e.runId}=${e.status}(${e.reason})`);
    const dlq = (await dlqCount(core.nc)) - dlqBefore;

    // Each run's one call is booked at the table's price: the executor reserved it (with the tokenizer's
    // estimate) and its result carries the spend, which the budget books. That may trail run.finished by
    // a moment; it must not wait for the reservation's lease to run out (the step's timeout + 30 s).
    const price = SIM_PRICES['sim-small'];
    const usd = (u: { inputTokens: number; outputTokens: number }) => (u.inputTokens * price.input + u.outputTokens * price.output) / 1e6;
    const usageNotBilled = ends.filter((e) => e.usage.inputTokens !== counters.byKey[`${e.runId}:${ONLY}`]?.billed.inputTokens || e.usage.outputTokens !== counters.byKey[`${e.runId}:${ONLY}`]?.billed.outputTokens).map((e) => e.runId);
    const mispriced = ends.filter((e) => Math.abs(e.costUsd - usd(e.usage)) >= 1e-9).map((e) => `${e.runId}: costUsd=${e.costUsd}, usage at the table=${usd(e.usage)}`);
    const budgets = await budgetsOnceSettled(core.nc, runIds, (b) => b.calls === 1 && b.openReservations === 0, 30_000);
    const unbooked = budgets.flatMap((b, i) => (b.calls === 1 && b.openReservations === 0 && Math.abs(b.committedUsd - ends[i]!.costUsd) < 1e-9 ? [] : [`${b.id}: calls=${b.calls} open=${b.openReservations} committedUsd=${b.committedUsd} reservedUsd=${b.reservedUsd}`]));

    figures('slow-backlog', {
      runs: RUNS,
      succeeded: ends.length - notSucceeded.length,
      modelCalls: [...calls.values()].reduce((a, b) => a + b, 0),
      keysNotOnce: repeated.length,
      backlogSeen: backlog,
      dlq,
      costUsd: ends.reduce((n, e) => n + e.costUsd, 0).toFixed(6),
      budgetBooked: RUNS - unbooked.length,
      budgetNotBooked: unbooked.length,
      seconds: Math.round((Date.now() - started) / 1000),
    });
    expect(repeated, `steps whose model call count is not 1 (a backlog command ran twice, or never): ${repeated.slice(0, 20).join(', ')}`).toEqual([]);
    expect(notSucceeded, 'runs that did not succeed').toEqual([]);
    expect(dlq, 'messages dead-lettered during the test').toBe(0);
    expect(usageNotBilled, 'runs whose run.finished usage is not what the simulator billed').toEqual([]);
    expect(mispriced.slice(0, 10), `${mispriced.length} runs whose run.finished costUsd is not their usage at the price table (the executor prices with the rate its reservation was granted at)`).toEqual([]);
    expect(unbooked.slice(0, 10), `${unbooked.length} runs whose call the budget did not book within 30 s of the run's end (the spend travels in step.completed)`).toEqual([]);
  });
});
