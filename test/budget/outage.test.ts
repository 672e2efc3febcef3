import { jetstreamManager } from '@nats-io/jetstream';
import { LocalStack, submitRun } from '@pipewright/cli';
import { streams } from '@pipewright/contracts';
import { sleep, waitFor } from '@pipewright/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerKeys, openKvLedgerStore, runCodec, SPEND_CONSUMER, type RunLedgerDoc } from '../../services/budget/src/index.js';
import { BudgetClient } from '../../services/executor/src/budget/index.js';
import { EventLog } from '../resilience/support.js';
import { client } from '../support/run.js';

/**
 * Exact money across an outage of the budget service. The executor reserves before each model call and
 * reports what the call used with the task's result (a durable event); the budget books it from the
 * stream. 50 runs go while the budget service is stopped for 20 s: steps that need a reservation wait
 * (fail closed), calls already granted finish and their spending waits in the stream. Afterwards every
 * run has succeeded, the budget has charged exactly what the simulator billed at the price table, and
 * each run's cost is exactly its charge.
 */
const RUNS = 50;
const OUTAGE_MS = 20_000;
/** sim-small in the local stack's table: $0.15 and $0.60 per million tokens, i.e. 150 and 600 nano-dollars per token. */
const NANO_PER_INPUT_TOKEN = 150;
const NANO_PER_OUTPUT_TOKEN = 600;
const nano = (usd: number) => Math.round(usd * 1e9);

describe('the budget service stopped for 20 s while 50 runs go', () => {
  let stack: LocalStack;
  let c: Awaited<ReturnType<typeof client>>;
  let events: EventLog;

  beforeAll(async () => {
    stack = await LocalStack.start({
      services: ['planner', 'executor', 'budget'],
      // Calls of 0.5-2 s, 8 at a time: the runs are still going when the budget stops. Leases barely
      // outlive a call (margin 0.5 s), so calls granted before the outage end their lease during it: their
      // spending is booked afterwards as late commits, at the price of the grant.
      sim: { latency: { minMs: 500, maxMs: 2_000 } },
      env: { PW_EXECUTOR_CONCURRENCY: '8', PW_BUDGET_LEASE_MARGIN_MS: '500', PW_BUDGET_DEADLINE_MS: '1000', PW_BUDGET_SWEEP_INTERVAL_MS: '500', PW_LOG_LEVEL: 'warn' },
    });
    c = await client(stack.natsOptions());
    events = await EventLog.start(stack.natsOptions());
  });
  afterAll(async () => {
    await events?.close();
    await c?.close();
    await stack?.stop();
  });

  it('books every call exactly once at the price of its grant, and every run costs exactly what the budget charged', async () => {
    const pipeline = {
      name: 'outage',
      defaults: { model: 'sim-small', maxOutputTokens: 200, timeoutMs: 20_000 },
      budget: { maxUsd: 1 },
      steps: [
        { id: 'draft', prompt: 'Draft a note' },
        { id: 'polish', needs: ['draft'], prompt: 'Polish the note' },
      ],
    };
    const runIds = Array.from({ length: RUNS }, (_, i) => `outage-${i}`);
    await Promise.all(runIds.map((runId) => submitRun(c.js, pipeline, {}, { runId })));
    const results = () => runIds.reduce((n, id) => n + events.events(id).filter((e) => e.type === 'step.completed').length, 0);
    await waitFor('the runs to be under way', () => (results() >= 12 ? true : undefined), { timeoutMs: 60_000, intervalMs: 50 });

    const [budgetSvc] = stack.processes('budget');
    await budgetSvc!.stop(5_000);
    const stoppedAt = Date.now();
    const doneBefore = results();
    expect(runIds.filter((id) => events.finished(id)).length).toBeLessThan(RUNS);
    // steps wait for the budget rather than call the model unmetered
    await waitFor('a step to wait for the budget', () => runIds.find((id) => events.events(id).some((e) => e.type === 'step.parked')), { timeoutMs: OUTAGE_MS, intervalMs: 50 });
    await sleep(Math.max(0, stoppedAt + OUTAGE_MS - Date.now()));
    const doneDuring = results() - doneBefore;
    await stack.startService('budget');

    const ends = await events.allFinished(runIds, 180_000);
    expect(ends.map((e) => e.status)).toEqual(runIds.map(() => 'succeeded'));
    // caught up: every spend event in the stream is booked (the last were published before their runs finished)
    const jsm = await jetstreamManager(c.nc);
    await waitFor('the budget to book the backlog', async () => {
      const i = await jsm.consumers.info(streams.events.name, SPEND_CONSUMER);
      return i.num_pending === 0 && i.num_ack_pending === 0 ? true : undefined;
    }, { timeoutMs: 60_000, intervalMs: 100 });

    const budget = new BudgetClient(c.nc, { timeoutMs: 2_000, deadlineMs: 10_000 });
    const billed = (await stack.sim.counters()).byKey;
    const ledger = await openKvLedgerStore(c.nc);
    let billedNano = 0;
    let chargedNano = 0;
    let calls = 0;
    let lateCommits = 0;
    const parked = runIds.reduce((n, id) => n + events.events(id).filter((e) => e.type === 'step.parked').length, 0);
    for (const [i, runId] of runIds.entries()) {
      const keys = pipeline.steps.map((s) => billed[`${runId}:${s.id}`]);
      const runBilled = keys.reduce((n, k) => n + (k ? k.billed.inputTokens * NANO_PER_INPUT_TOKEN + k.billed.outputTokens * NANO_PER_OUTPUT_TOKEN : 0), 0);
      const answers = keys.reduce((n, k) => n + (k?.billed.answers ?? 0), 0);
      const status = await budget.status('run', runId);
      if (status.kind !== 'status') throw new Error(status.reason);
      // per run: what the simulator billed is what the budget charged, and what the run reports
      expect({ runId, charged: nano(status.committedUsd), calls: status.calls, reserved: status.reservedUsd }).toEqual({ runId, charged: runBilled, calls: answers, reserved: 0 });
      expect({ runId, cost: nano(ends[i]!.costUsd) }).toEqual({ runId, cost: runBilled });
      const doc = await ledger.get(ledgerKeys.run(runId));
      const records: RunLedgerDoc['records'] = doc ? runCodec.decode(JSON.parse(doc.text)).records : {};
      lateCommits += Object.values(records).filter((r) => r.state === 'committed' && r.late).length;
      billedNano += runBilled;
      chargedNano += nano(status.committedUsd);
      calls += status.calls;
    }
    expect(chargedNano).toBe(billedNano);
    expect(calls).toBeGreaterThanOrEqual(RUNS * pipeline.steps.length);
    console.log(
      `[outage] ${RUNS} runs succeeded; ${calls} model calls billed and booked; step results before the outage ${doneBefore}, during it ${doneDuring}; ` +
        `${parked} parks while the budget was down; ${lateCommits} late commits; charged $${(chargedNano / 1e9).toFixed(9)} = billed $${(billedNano / 1e9).toFixed(9)}`,
    );
  }, 300_000);
});
