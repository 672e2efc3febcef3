import { LocalStack, SIM_PRICES, submitRun, watchRun } from '@pipewright/cli';
import type { RunEvent } from '@pipewright/contracts';
import { waitFor } from '@pipewright/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BudgetClient } from '../../services/executor/src/budget/index.js';
import { client } from '../support/run.js';

const PIPELINE = 'window-waiter';
const MODEL = 'sim-large';
/** The output cap: what each call's reservation holds, almost all of it (the replies are short). */
const MAX_OUTPUT = 4_000;
const HOLD_USD = (MAX_OUTPUT * SIM_PRICES[MODEL].output) / 1e6;
/** Room for one call's hold, not two: a second call waits while the first one's is live. */
const WINDOW_USD = HOLD_USD * 1.5;
const CALL_MS = 3_000;

/**
 * `budget.onExceeded: wait` through the whole stack: a pipeline's rolling-window limit with room for one
 * reservation. While run A's call holds it, run B's call is denied by the window; B's step waits
 * (parked, its run paused) instead of failing, and runs once A's hold is gone. Each model call is made
 * once; with `onExceeded: fail` the same denial ends the run `budget_exhausted`.
 */
describe('budget.onExceeded: wait on a pipeline window', () => {
  let stack: LocalStack;
  let c: Awaited<ReturnType<typeof client>>;
  let budget: BudgetClient;

  beforeAll(async () => {
    stack = await LocalStack.start({
      services: ['planner', 'executor', 'budget'],
      sim: { latency: { fixedMs: CALL_MS } },
      env: {
        PW_BUDGET_LEASE_MARGIN_MS: '500',
        PW_BUDGET_CONFIG_JSON: JSON.stringify({ prices: SIM_PRICES, pipelines: { [PIPELINE]: { maxUsd: WINDOW_USD, windowHours: 1 } } }),
      },
    });
    c = await client(stack.natsOptions());
    budget = new BudgetClient(c.nc);
  });
  afterAll(async () => {
    await c?.close();
    await stack?.stop();
  });

  async function statusOf(scope: 'run' | 'pipeline', id: string) {
    const s = await budget.status(scope, id);
    if (s.kind !== 'status') throw new Error(`budget status of ${scope} ${id}: ${s.reason}`);
    return s;
  }

  const pipeline = (onExceeded: 'wait' | 'fail') => ({
    name: PIPELINE,
    defaults: { model: MODEL, maxOutputTokens: MAX_OUTPUT, timeoutMs: 5_000 },
    budget: { onExceeded },
    steps: [{ id: 'answer', prompt: 'Say something short' }],
  });

  /** Submits run A and resolves once its model call holds the window; `end` is A's final event. */
  async function holdWindow(runId: string): Promise<{ end: Promise<RunEvent> }> {
    await submitRun(c.js, pipeline('wait'), {}, { runId });
    let started = false;
    const end = watchRun(c.js, runId, (e) => void (e.type === 'step.started' && (started = true)), { timeoutMs: 60_000 });
    await waitFor(`${runId}'s step to start`, () => Promise.resolve(started || undefined), { timeoutMs: 30_000 });
    await waitFor(`${runId}'s reservation to hold the window`, async () => {
      return (await statusOf('run', runId)).reservedUsd > 0 ? true : undefined;
    }, { timeoutMs: 30_000 });
    return { end };
  }

  it('keeps the step waiting until the window has room, then runs it once; the run succeeds', async () => {
    const { end: endA } = await holdWindow('ww-a');
    const eventsB: RunEvent[] = [];
    await submitRun(c.js, pipeline('wait'), {}, { runId: 'ww-b' });
    const endB = await watchRun(c.js, 'ww-b', (e) => eventsB.push(e), { timeoutMs: 90_000 });
    expect(await endA).toMatchObject({ type: 'run.finished', status: 'succeeded' });
    expect(endB).toMatchObject({ type: 'run.finished', status: 'succeeded' });
    // B waited for the window: its step was parked with the reason, and its run was paused meanwhile
    const parked = eventsB.filter((e) => e.type === 'step.parked');
    expect(parked.length).toBeGreaterThanOrEqual(1);
    expect(parked[0]).toMatchObject({ reason: expect.stringContaining('budget.onExceeded: wait') });
    // every model call once: A's and B's, each under its own idempotency key
    const counters = await stack.sim.counters();
    expect(counters.byKey['ww-a:answer']?.calls).toBe(1);
    expect(counters.byKey['ww-b:answer']?.calls).toBe(1);
    // both calls are booked against the window (from their result events), at their price
    const status = await waitFor('both calls to be booked', async () => {
      const s = await statusOf('pipeline', PIPELINE);
      return s.reservedUsd === 0 && s.calls === 2 ? s : undefined;
    }, { timeoutMs: 30_000 });
    const costA = (await statusOf('run', 'ww-a')).committedUsd;
    const costB = (await statusOf('run', 'ww-b')).committedUsd;
    expect(costA).toBeGreaterThan(0);
    expect(endB.type === 'run.finished' && endB.costUsd).toBeCloseTo(costB, 9);
    expect(status.committedUsd).toBeCloseTo(costA + costB, 9);
  });

  it('with onExceeded: fail, the same denial ends the run budget_exhausted, with no model call', async () => {
    const { end: endA } = await holdWindow('wf-a');
    await submitRun(c.js, pipeline('fail'), {}, { runId: 'wf-b' });
    const endB = await watchRun(c.js, 'wf-b', () => undefined, { timeoutMs: 60_000 });
    expect(endB).toMatchObject({ type: 'run.finished', status: 'budget_exhausted', reason: expect.stringContaining('pipeline.maxUsd') });
    expect(await endA).toMatchObject({ type: 'run.finished', status: 'succeeded' });
    expect((await stack.sim.counters()).byKey['wf-b:answer']?.calls ?? 0).toBe(0);
  });
});
