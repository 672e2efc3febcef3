import { LocalStack, SIM_PRICES, submitRun } from '@pipewright/cli';
import { openKvStores } from '@pipewright/kit';
import { serveTool } from '@pipewright/tools';
import { z } from 'zod';
import { waitFor } from '@pipewright/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BudgetClient } from '../../services/executor/src/budget/index.js';
import { EventLog } from '../resilience/support.js';
import { client, runToEnd, trailOf } from '../support/run.js';

/**
 * The budget through the whole stack: planner, executor, budget service (NATS KV) and the simulator.
 * The simulator reports usage; the budget service prices it with the stack's price table (SIM_PRICES).
 */
describe('budget enforced before every model call, end to end', () => {
  let stack: LocalStack;
  let c: Awaited<ReturnType<typeof client>>;
  let budget: BudgetClient;
  let events: EventLog;
  const price = SIM_PRICES['sim-large'];
  const usd = (u: { inputTokens: number; outputTokens: number }) => (u.inputTokens * price.input + u.outputTokens * price.output) / 1e6;

  beforeAll(async () => {
    stack = await LocalStack.start({
      services: ['planner', 'executor', 'budget'],
      env: { PW_EXECUTOR_ACK_WAIT_MS: '2000', PW_BUDGET_LEASE_MARGIN_MS: '500', PW_BUDGET_DEADLINE_MS: '1000', PW_BUDGET_SWEEP_INTERVAL_MS: '500' },
    });
    c = await client(stack.natsOptions());
    budget = new BudgetClient(c.nc);
    events = await EventLog.start(stack.natsOptions());
  });
  afterAll(async () => {
    await events?.close();
    await c?.close();
    await stack?.stop();
  });

  it('stops a runaway agent at its run budget as budget_exhausted, with its partial result and a cost that matches the price table', async () => {
    const runId = 'runaway-agent';
    // the model asks for the same harmless lookup for ever; only the budget can stop it
    await stack.sim.setConfig({ scripts: [{ match: { key: `${runId}:loop` }, reply: { toolCalls: [{ name: 'noop', arguments: { q: 'again' } }] } }] });
    const noop = await serveTool(c.nc, { name: 'noop', description: 'does nothing', version: '1.0.0', input: z.object({ q: z.string() }), output: z.object({ ok: z.boolean() }), handler: () => Promise.resolve({ ok: true }) });
    await noop.registered;
    try {
      const maxUsd = 0.01;
      const pipeline = {
        name: 'runaway',
        defaults: { model: 'sim-large', maxOutputTokens: 200 },
        budget: { maxUsd },
        // The schema comes from the tool registry (noop registered itself above).
        tools: { noop: { description: 'does nothing' } },
        steps: [
          { id: 'first', prompt: 'Begin' },
          { id: 'loop', kind: 'agent', needs: ['first'], prompt: 'Loop', tools: ['noop'], repeatLimit: 100, maxIterations: 1000 },
        ],
        limits: { maxSteps: 1000 },
      };
      const { end } = await runToEnd(c.js, pipeline, {}, { runId, timeoutMs: 60_000 });
      expect(end).toMatchObject({ type: 'run.finished', status: 'budget_exhausted', reason: expect.stringContaining('budget run.maxUsd') });
      if (end.type !== 'run.finished') throw new Error('unreachable');
      expect(end.partial).toHaveProperty('first');
      // every model call of the run was on sim-large: the cost is its usage at the table's prices
      expect(end.costUsd).toBeGreaterThan(0);
      expect(end.costUsd).toBeCloseTo(usd(end.usage), 8);
      expect(end.costUsd).toBeLessThanOrEqual(maxUsd);
      const status = await budget.status('run', runId);
      if (status.kind !== 'status') throw new Error(status.reason);
      expect(status.committedUsd).toBeCloseTo(end.costUsd, 8);
      expect(status.committedTokens).toBe(end.usage.totalTokens);
      expect(status.limitUsd).toBe(maxUsd);
      // the calls the simulator answered are the calls that were charged
      const counters = await stack.sim.counters();
      const answered = Object.entries(counters.byKey).filter(([k]) => k.startsWith(`${runId}:`)).reduce((n, [, v]) => n + v.calls, 0);
      expect(status.calls).toBe(answered);
    } finally {
      await noop.stop();
    }
  });

  it('gives a reservation back when its executor is killed mid-call, and the run still finishes', async () => {
    const runId = 'killed-holding';
    // the call outlasts anything the test does before the kill, even on a loaded machine
    await stack.sim.setConfig({ faults: { perModel: { 'sim-slow': { latency: { fixedMs: 10_000 } } } } });
    await submitRun(c.js, { name: 'slow', defaults: { model: 'sim-slow', timeoutMs: 12_000 }, budget: { maxUsd: 1 }, steps: [{ id: 'only', prompt: 'Take your time' }] }, {}, { runId });
    const held = await waitFor('a live reservation', async () => {
      const s = await budget.status('run', runId);
      return s.kind === 'status' && s.openReservations > 0 && s.reservedUsd > 0 ? s : undefined;
    }, { timeoutMs: 15_000 });
    expect(held.committedUsd).toBe(0);
    const [executor] = stack.processes('executor');
    await executor!.kill();
    // the lease runs out (call timeout 12 s + margin 0.5 s) and nothing is held any more
    const freed = await waitFor('the lease to expire', async () => {
      const s = await budget.status('run', runId);
      return s.kind === 'status' && s.reservedUsd === 0 && s.openReservations === 0 ? s : undefined;
    }, { timeoutMs: 25_000, intervalMs: 250 });
    expect(freed.committedUsd).toBe(0);
    // a new executor takes the step over; only its call is charged
    await stack.sim.setConfig({});
    await stack.startService('executor');
    const end = await waitFor('the run to finish', () => events.finished(runId), { timeoutMs: 30_000 });
    expect(end).toMatchObject({ status: 'succeeded' });
    const after = await budget.status('run', runId);
    if (after.kind !== 'status') throw new Error(after.reason);
    expect(after.committedUsd).toBeCloseTo(end.costUsd, 8);
    expect(end.costUsd).toBeGreaterThan(0);
    expect(after.reservedUsd).toBe(0);
  });

  it('makes no model call while the budget service is down for a fail-closed pipeline, says why, and resumes when it is back', async () => {
    const runId = 'budget-down';
    const [svc] = stack.processes('budget');
    await svc!.stop(5_000);
    await submitRun(c.js, { name: 'closed', defaults: { model: 'sim-small' }, budget: { maxUsd: 1, failClosed: true }, steps: [{ id: 'only', prompt: 'Hello' }] }, {}, { runId });
    const paused = await waitFor('the run to pause', () => events.events(runId).find((e) => e.type === 'step.parked'), { timeoutMs: 20_000 });
    expect(paused).toMatchObject({ reason: expect.stringContaining('budget service unreachable and the pipeline fails closed') });
    const stores = await openKvStores(c.nc);
    await waitFor('the run to be paused', async () => ((await stores.runs.get(runId))?.value.status === 'paused' ? true : undefined), { timeoutMs: 10_000 });
    expect((await trailOf(c.js, runId)).find((d) => d.action === 'pause')?.reason).toContain('budget service unreachable');
    expect((await stack.sim.counters()).byKey[`${runId}:only`]).toBeUndefined();
    await stack.startService('budget');
    const end = await waitFor('the run to finish', () => events.finished(runId), { timeoutMs: 30_000 });
    expect(end).toMatchObject({ status: 'succeeded' });
    expect((await stack.sim.counters()).byKey[`${runId}:only`]?.calls).toBe(1);
  });
});
