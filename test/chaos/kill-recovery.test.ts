import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { submitRun } from '@pipewright/cli';
import { ferretDbAvailable, waitFor } from '@pipewright/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventLog } from '../resilience/support.js';
import { CHAOS_ENV, CHAOS_PIPELINE, ChaosStack, dlqCount, STEP_IDS, type Executor, type StoreKind } from './support.js';

const RUNS = Number(process.env['PW_CHAOS_RUNS'] ?? 50);
/** Bounded waits grow with the number of runs (the soak variant runs many more). */
const WAIT_MS = Math.max(120_000, RUNS * 1_000);
const STEPS = RUNS * STEP_IDS.length;
/** Kill points, as shares of all step completions seen so far. Each victim is restarted at once, in the background. */
const KILLS: { at: number; target: 'executor' | 'planner' }[] = [
  { at: 0.12, target: 'executor' },
  { at: 0.3, target: 'executor' },
  { at: 0.48, target: 'planner' },
  { at: 0.66, target: 'executor' },
];
/** How long the simulator may still be reading a request the killed process sent just before it died. */
const SETTLE_MS = 250;

interface ExecutorKill {
  /** `<runId>:<stepId>` of every step whose completion had been seen before the kill, with its calls then. */
  completedBefore: Map<string, number>;
  /** Steps whose model call the killed process had made and whose completion had not been seen. */
  inFlight: string[];
}

/**
 * Crash recovery under load, end to end: planner and two executors as processes on a real nats-server
 * (file storage), 50 concurrent runs of a six-step pipeline, model calls of 50–150 ms. Executors are
 * SIGKILLed three times and the planner once while runs are in flight, each restarted at once.
 *
 * Every executor process has a simulator of its own, so each model call is attributed to the process
 * that made it. At a kill, a step is counted "in flight" on the killed process when that process had
 * called the model for it and its `step.completed` had not yet been seen by the test. That is a
 * superset of the steps the process was really working on (a completion published a moment before the
 * kill may still be on its way), so the bound below is exact or looser, never tighter than the truth.
 *
 * What the test proves, per step (Idempotency-Key `<runId>:<stepId>`):
 * - every step of every run was called, and every run succeeded;
 * - a step whose completion (hence its checkpoint, written before it) was seen before a kill got no
 *   model call after that kill;
 * - calls ≤ 1 + (executor kills at which the step was in flight on the killed process): a step not in
 *   flight at any kill was called exactly once, across planner and executor restarts;
 * - every call was the first of its delivery (`X-Pw-Call-Attempt: 1`): repeats are redeliveries, not
 *   retries; nothing reached the dead-letter queue.
 */
describe.each<StoreKind>(['kv', 'mongo'])('chaos: executors and the planner SIGKILLed mid-run (%s store)', (store) => {
  let chaos: ChaosStack;
  let events: EventLog;
  let nc: NatsConnection;
  const logDir = mkdtempSync(join(tmpdir(), `pw-chaos-${store}-`));

  beforeAll(async () => {
    if (store === 'mongo' && !ferretDbAvailable()) throw new Error('no ferretdb binary: run scripts/ensure-servers.sh ferretdb');
    chaos = await ChaosStack.start({ store, logDir, env: CHAOS_ENV });
    events = await EventLog.start(chaos.natsUrl);
    nc = await connect({ servers: chaos.natsUrl });
  });
  afterAll(async () => {
    await nc?.drain();
    await events?.close();
    await chaos?.stop();
    if (process.env['PW_KEEP_LOGS'] === undefined) rmSync(logDir, { recursive: true, force: true });
  });

  it(`finishes all ${RUNS} runs; repeats a model call only for a step in flight on a killed executor, at most once per kill`, async () => {
    const started = Date.now();
    const js = jetstream(nc);
    const runIds = await Promise.all(Array.from({ length: RUNS }, (_, i) => submitRun(js, CHAOS_PIPELINE, { topic: `topic ${i}` }, { runId: `chaos-${store}-${i}` })));
    const completed = () => new Set(runIds.flatMap((r) => events.events(r).flatMap((e) => (e.type === 'step.completed' ? [`${r}:${e.stepId}`] : []))));

    const kills: ExecutorKill[] = [];
    const restarts: Promise<unknown>[] = [];
    for (const k of KILLS) {
      await waitFor(`${Math.round(k.at * 100)}% of the steps to complete`, () => (completed().size >= k.at * STEPS ? true : undefined), { timeoutMs: WAIT_MS, intervalMs: 20 });
      if (k.target === 'planner') {
        await chaos.planner.kill();
        restarts.push(chaos.stack.startService('planner').then((p) => (chaos.planner = p)));
        continue;
      }
      // The busier executor: the one with more model calls whose completion has not been seen. Wait
      // (bounded) until one is busy: a kill while the stack is idle (e.g. just after the planner came
      // back) would test nothing.
      const busy = (e: Executor, done: ReadonlySet<string>) => Object.keys(e.sim.counters().byKey).filter((key) => !done.has(key)).length;
      await waitFor('an executor with model calls in flight', () => (chaos.executors.some((e) => busy(e, completed()) > 0) ? true : undefined), { timeoutMs: 60_000, intervalMs: 10 });
      const callsThen = chaos.calls();
      const done = completed();
      const completedBefore = new Map([...done].map((key) => [key, callsThen.get(key)?.calls ?? 0]));
      const victim = chaos.executors.reduce((a, b) => (busy(b, done) > busy(a, done) ? b : a));
      chaos.executors.splice(chaos.executors.indexOf(victim), 1);
      await victim.proc.kill();
      await sleep(SETTLE_MS);
      const inFlight = Object.keys(victim.sim.counters().byKey).filter((key) => !completedBefore.has(key));
      kills.push({ completedBefore, inFlight });
      restarts.push(chaos.startExecutor());
    }

    const ends = await events.allFinished(runIds, WAIT_MS);
    await Promise.all(restarts);
    expect(ends.filter((e) => e.status !== 'succeeded')).toEqual([]);

    const calls = chaos.calls();
    const keys = runIds.flatMap((r) => STEP_IDS.map((s) => `${r}:${s}`));
    expect([...calls.keys()].sort()).toEqual([...keys].sort()); // every step called, nothing else
    const repeats = keys.reduce((n, key) => n + calls.get(key)!.calls - 1, 0);
    const stepsRepeated = keys.filter((key) => calls.get(key)!.calls > 1).length;
    console.info(
      JSON.stringify({
        chaos: 'kill-recovery',
        store,
        runs: RUNS,
        steps: keys.length,
        modelCalls: keys.length + repeats,
        repeatedCalls: repeats,
        stepsRepeated,
        inFlightAtEachExecutorKill: kills.map((k) => k.inFlight.length),
        completedBeforeEachExecutorKill: kills.map((k) => k.completedBefore.size),
        seconds: Math.round((Date.now() - started) / 100) / 10,
      }),
    );
    const inFlightAt = new Map<string, number>();
    for (const kill of kills) for (const key of kill.inFlight) inFlightAt.set(key, (inFlightAt.get(key) ?? 0) + 1);
    const overBound = keys.filter((key) => calls.get(key)!.calls > 1 + (inFlightAt.get(key) ?? 0)).map((key) => ({ key, calls: calls.get(key)!.calls, inFlightAtKills: inFlightAt.get(key) ?? 0 }));
    expect(overBound).toEqual([]);
    // Steps whose completion (so their checkpoint) was seen before a kill: not one call after it.
    for (const kill of kills) {
      expect(kill.completedBefore.size).toBeGreaterThan(0);
      expect([...kill.completedBefore].filter(([key, then]) => calls.get(key)!.calls !== then)).toEqual([]);
    }
    expect(keys.flatMap((key) => calls.get(key)!.attempts).filter((a) => a !== 1)).toEqual([]);
    // The kills did hit work in flight, or the bound above would prove little.
    for (const kill of kills) expect(kill.inFlight.length).toBeGreaterThan(0);
    expect(await dlqCount(nc)).toBe(0);

    expect(stepsRepeated).toBeLessThanOrEqual(kills.reduce((n, k) => n + k.inFlight.length, 0));
  }, WAIT_MS + 60_000);
});
