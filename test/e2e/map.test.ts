import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { submitRun } from '@pipewright/cli';
import { streams, subjects, type RunEvent, type RunFinished } from '@pipewright/contracts';
import { waitFor } from '@pipewright/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChaosStack, dlqCount, runTrail, type Executor } from '../chaos/support.js';
import { EventLog } from '../resilience/support.js';

const ITEMS = 1_000;
const CONCURRENCY = 16;
const MAX_USD = 0.5;
/** Bounded waits: 1,000 model calls of 50–150 ms, 16 at a time, on a loaded machine, plus a takeover. */
const WAIT_MS = 600_000;

const PIPELINE = {
  name: 'map-e2e',
  defaults: { model: 'sim-small', maxOutputTokens: 16, timeoutMs: 10_000 },
  limits: { maxSteps: ITEMS + 10, deadlineMs: 3_600_000 },
  budget: { maxUsd: MAX_USD },
  input: { type: 'object', properties: { lines: { type: 'array', items: { type: 'string' } } }, required: ['lines'] },
  steps: [{ id: 'each', kind: 'map', over: 'input.lines', concurrency: CONCURRENCY, maxItems: ITEMS, step: { prompt: 'Item {{index}}: {{item}}' } }],
};

/**
 * A 1,000-item map end to end: nats-server, planner, budget and two executors (each with a simulator of
 * its own, so each model call is attributed to the process that made it) as real processes. One
 * executor is SIGKILLed mid-map; its tasks are taken over by the other. Later the planner is SIGKILLed
 * and replaced: the map goes on from the stored run and its outbox.
 *
 * What it proves: the run succeeds with 1,000 outputs in list order (each answer echoes its item's
 * prompt); every item was called (none lost) and exactly once (Idempotency-Key `<run>:each__<i>`),
 * except items whose call the killed executor had made and whose completion had not been seen, called
 * at most twice (the in-flight rule, DESIGN.md); never more than 16 items in flight (dispatched and not
 * completed, in the order the events stream holds them); the run's cost stays within its budget.maxUsd;
 * the stored run stays far below the state limit; nothing is dead-lettered.
 */
describe('map: 1,000 items over two executors, one SIGKILLed mid-map, then the planner', () => {
  let chaos: ChaosStack;
  let events: EventLog;
  let nc: NatsConnection;
  const logDir = mkdtempSync(join(tmpdir(), 'pw-map-'));
  let keepLogs = false;

  beforeAll(async () => {
    chaos = await ChaosStack.start({ store: 'kv', logDir, budget: true });
    events = await EventLog.start(chaos.natsOptions());
    nc = await connect({ ...chaos.natsOptions(), maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  });
  afterAll(async () => {
    await nc?.drain();
    await events?.close();
    await chaos?.stop();
    if (process.env['PW_KEEP_LOGS'] === undefined && !keepLogs) rmSync(logDir, { recursive: true, force: true });
  });

  it('succeeds with every output in order, each item called once but those in flight at the kill, at most 16 in flight, within budget', async () => {
    const runId = 'map-1000';
    const lines = Array.from({ length: ITEMS }, (_, i) => `line ${i}`);
    const keys = lines.map((_, i) => `${runId}:each__${i}`);
    await submitRun(jetstream(nc), PIPELINE, { lines }, { runId });
    const completedItems = () => new Set(events.events(runId).flatMap((e) => (e.type === 'step.completed' ? [`${runId}:${e.stepId}`] : [])));
    const { stores, close } = await chaos.openStores();
    const stateBytes: number[] = [];
    const sampleState = async () => {
      const run = await stores.runs.get(runId);
      if (run) stateBytes.push(JSON.stringify(run.value).length);
    };

    // Mid-map: kill the executor with more model calls whose completion has not been seen.
    await waitFor('a third of the items to complete', () => (completedItems().size >= ITEMS / 3 ? true : undefined), { timeoutMs: WAIT_MS, intervalMs: 20 });
    await sampleState();
    const busy = (e: Executor, seen: ReadonlySet<string>) => Object.keys(e.sim.counters().byKey).filter((k) => !seen.has(k)).length;
    await waitFor('an executor with model calls in flight', () => (chaos.executors.some((e) => busy(e, completedItems()) > 0) ? true : undefined), { timeoutMs: 60_000, intervalMs: 10 });
    const done = completedItems();
    const victim = chaos.executors.reduce((a, b) => (busy(b, done) > busy(a, done) ? b : a));
    chaos.executors.splice(chaos.executors.indexOf(victim), 1);
    await victim.proc.kill();
    // The victim's simulator outlives it: what it saw is every call the killed process made.
    const inFlightAtKill = new Set(Object.keys(victim.sim.counters().byKey).filter((k) => !done.has(k)));
    // Two thirds in: the planner is SIGKILLed too (mid-transition as likely as not) and replaced; the
    // run's state, outbox and the items in flight carry the map on.
    await waitFor('two thirds of the items to complete', () => (completedItems().size >= (ITEMS * 2) / 3 ? true : undefined), { timeoutMs: WAIT_MS, intervalMs: 20 });
    const beforePlannerKill = completedItems().size;
    await chaos.replacePlanner(chaos.planner);
    await waitFor('nine tenths of the items to complete', () => (completedItems().size >= ITEMS * 0.9 ? true : undefined), { timeoutMs: WAIT_MS, intervalMs: 50 });
    await sampleState();

    const jsm = await jetstreamManager(nc);
    const finished = await waitFor(
      'the run to finish',
      async () => (await jsm.direct.getMessage(streams.events.name, { last_by_subj: subjects.runEvent(runId, 'run.finished') }))?.json<RunFinished>(),
      { timeoutMs: WAIT_MS, intervalMs: 500 },
    ).catch(async (err: unknown) => {
      keepLogs = true;
      console.error(`${runId} did not finish; its last events:\n${(await runTrail(nc, runId)).join('\n')}\nservice logs kept in ${logDir}`);
      throw err;
    });
    await close();

    expect(finished.status).toBe('succeeded');
    const output = finished.output as string[];
    expect(output).toHaveLength(ITEMS);
    expect(output.filter((o, i) => !o.includes(`Item ${i}: line ${i}`))).toEqual([]);

    // Calls per Idempotency-Key over both simulators: every item, nothing else; once, but those in flight at the kill.
    const calls = chaos.calls();
    expect([...calls.keys()].sort()).toEqual([...keys].sort());
    const overBound = keys.filter((k) => calls.get(k)!.calls > 1 + (inFlightAtKill.has(k) ? 1 : 0)).map((k) => [k, calls.get(k)!.calls]);
    expect(overBound).toEqual([]);
    const repeated = keys.filter((k) => calls.get(k)!.calls > 1);
    expect(inFlightAtKill.size).toBeGreaterThan(0); // the kill hit items in flight, or the bound proves little
    expect(inFlightAtKill.size).toBeLessThanOrEqual(CONCURRENCY);

    // Items in flight, in the events stream's order: dispatched and not yet completed.
    const maxInFlight = maxItemsInFlight(events.events(runId));
    expect(maxInFlight).toBeLessThanOrEqual(CONCURRENCY);
    expect(maxInFlight).toBeGreaterThan(1);

    expect(finished.costUsd).toBeGreaterThan(0);
    expect(finished.costUsd).toBeLessThanOrEqual(MAX_USD);
    expect(Math.max(...stateBytes)).toBeLessThan(512 * 1024);
    expect(await dlqCount(nc)).toBe(0);
    expect(beforePlannerKill).toBeLessThan(ITEMS);
    console.info(JSON.stringify({ e2e: 'map', items: ITEMS, concurrency: CONCURRENCY, inFlightAtKill: inFlightAtKill.size, completedBeforePlannerKill: beforePlannerKill, repeatedCalls: repeated.length, maxInFlight, costUsd: finished.costUsd, storedStateBytes: stateBytes }));
  }, WAIT_MS * 2);
});

/** The most items dispatched and not yet completed at any point of the run's events. */
function maxItemsInFlight(evs: readonly RunEvent[]): number {
  const flying = new Set<string>();
  const finished = new Set<string>();
  let max = 0;
  for (const e of evs) {
    if (e.type === 'step.dispatched' && e.stepId.startsWith('each__') && !finished.has(e.stepId)) flying.add(e.stepId);
    if (e.type === 'step.completed') {
      flying.delete(e.stepId);
      finished.add(e.stepId);
    }
    max = Math.max(max, flying.size);
  }
  return max;
}
