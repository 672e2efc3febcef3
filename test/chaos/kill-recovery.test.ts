import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { submitRun } from '@pipewright/cli';
import { streams, subjects, type RunFinished } from '@pipewright/contracts';
import { ferretDbAvailable, waitFor } from '@pipewright/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventLog } from '../resilience/support.js';
import { CHAOS_ENV, CHAOS_PIPELINE, ChaosStack, dlqCount, runTrail, STEP_IDS, type Executor, type StoreKind } from './support.js';

const RUNS = Number(process.env['PW_CHAOS_RUNS'] ?? 50);
/** Bounded waits grow with the number of runs (the soak variant runs many more). */
const WAIT_MS = Math.max(180_000, RUNS * 1_500);
const STEPS = RUNS * STEP_IDS.length;
/** Kill points, as shares of all step completions seen so far. Each victim is restarted at once. */
const KILLS: { at: number; target: 'executor' | 'planner' | 'nats' }[] = [
  { at: 0.12, target: 'executor' },
  { at: 0.3, target: 'planner' },
  { at: 0.45, target: 'executor' },
  { at: 0.6, target: 'nats' },
  { at: 0.75, target: 'executor' },
];
/** How long the simulator may still be reading a request the killed process sent just before it died. */
const SETTLE_MS = 250;
/** How long nats-server stays down. */
const NATS_DOWN_MS = 1_500;

interface Kill {
  target: 'executor' | 'planner' | 'nats';
  /** `<runId>:<stepId>` of every step whose completion had been seen before the kill, with its calls then. */
  completedBefore: Map<string, number>;
  /** Steps whose model call the killed process (any executor, for nats-server) had made and whose completion had not been seen. */
  inFlight: string[];
}

/**
 * Crash recovery under load, end to end: two planners, two executors and the budget service as
 * processes on a real nats-server (file storage), 50 concurrent runs of a six-step pipeline, model calls
 * of 50–150 ms, every call metered. While runs are in flight, executors are SIGKILLed three times, a
 * planner once, and nats-server itself once (killed, restarted on the same port and store); each victim
 * is restarted at once.
 *
 * Every executor process has a simulator of its own, so each model call is attributed to the process
 * that made it. At an executor kill, a step is "in flight" when the killed process had called the model
 * for it and its `step.completed` had not been seen; at the nats-server kill, when any executor had.
 * That is a superset of the steps really mid-call (a completion a moment before the kill may be on its
 * way), so the bound below is exact or looser, never tighter than the truth.
 *
 * What the test proves, per step (Idempotency-Key `<runId>:<stepId>`):
 * - every step of every run was called, and every run succeeded: no run lost;
 * - a step whose completion (its checkpoint) was seen before a kill got no model call after that kill;
 * - calls ≤ 1 + (kills at which the step was in flight): a step in flight at no kill — slow,
 *   backlogged, on a loaded machine, with two planners sharing its run — was called exactly once;
 * - every call was the first of its delivery (`X-Pw-Call-Attempt: 1`): repeats come from a takeover,
 *   not from retries; nothing reached the dead-letter queue.
 */
describe.each<StoreKind>(['kv', 'mongo'])('chaos: executors, a planner and nats-server killed mid-run (%s store)', (store) => {
  let chaos: ChaosStack;
  let events: EventLog;
  let nc: NatsConnection;
  const logDir = mkdtempSync(join(tmpdir(), `pw-chaos-${store}-`));
  let keepLogs = false;

  beforeAll(async () => {
    if (store === 'mongo' && !ferretDbAvailable()) throw new Error('no ferretdb binary: run scripts/ensure-servers.sh ferretdb');
    chaos = await ChaosStack.start({ store, logDir, env: CHAOS_ENV, planners: 2, budget: true });
    events = await EventLog.start(chaos.natsOptions());
    nc = await connect({ ...chaos.natsOptions(), maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  });
  afterAll(async () => {
    await nc?.drain();
    await events?.close();
    await chaos?.stop();
    if (process.env['PW_KEEP_LOGS'] === undefined && !keepLogs) rmSync(logDir, { recursive: true, force: true });
  });

  it(`finishes all ${RUNS} runs; repeats a model call only for a step in flight on a killed executor, at most once per kill`, async () => {
    const started = Date.now();
    const js = jetstream(nc);
    const runIds = await Promise.all(Array.from({ length: RUNS }, (_, i) => submitRun(js, CHAOS_PIPELINE, { topic: `topic ${i}` }, { runId: `chaos-${store}-${i}` })));
    const completed = () => new Set(runIds.flatMap((r) => events.events(r).flatMap((e) => (e.type === 'step.completed' ? [`${r}:${e.stepId}`] : []))));

    const kills: Kill[] = [];
    const restarts: Promise<unknown>[] = [];
    for (const k of KILLS) {
      await waitFor(`${Math.round(k.at * 100)}% of the steps to complete`, () => (completed().size >= k.at * STEPS ? true : undefined), { timeoutMs: WAIT_MS, intervalMs: 20 });
      const callsThen = chaos.calls();
      const done = completed();
      const completedBefore = new Map([...done].map((key) => [key, callsThen.get(key)?.calls ?? 0]));
      if (k.target === 'planner') {
        restarts.push(chaos.replacePlanner(chaos.planners[0]!));
        kills.push({ target: 'planner', completedBefore, inFlight: [] });
        continue;
      }
      if (k.target === 'nats') {
        await chaos.stack.nats.kill();
        // calls that reached a simulator up to the kill (sampled after it, not before: a call made in
        // between was in flight too)
        await sleep(SETTLE_MS);
        const callsAtKill = chaos.calls();
        await sleep(Math.max(0, NATS_DOWN_MS - SETTLE_MS));
        await chaos.stack.nats.restart();
        kills.push({ target: 'nats', completedBefore, inFlight: [...callsAtKill.keys()].filter((key) => !done.has(key)) });
        continue;
      }
      // The busier executor: the one with more model calls whose completion has not been seen. Wait
      // (bounded) until one is busy: a kill while the stack is idle would test nothing.
      const busy = (e: Executor, seen: ReadonlySet<string>) => Object.keys(e.sim.counters().byKey).filter((key) => !seen.has(key)).length;
      await waitFor('an executor with model calls in flight', () => (chaos.executors.some((e) => busy(e, completed()) > 0) ? true : undefined), { timeoutMs: 60_000, intervalMs: 10 });
      const victim = chaos.executors.reduce((a, b) => (busy(b, done) > busy(a, done) ? b : a));
      chaos.executors.splice(chaos.executors.indexOf(victim), 1);
      await victim.proc.kill();
      await sleep(SETTLE_MS);
      kills.push({ target: 'executor', completedBefore, inFlight: Object.keys(victim.sim.counters().byKey).filter((key) => !completedBefore.has(key)) });
      restarts.push(chaos.startExecutor());
    }

    // From the stream, not the event log's subscription: a core subscription misses what was in flight
    // when nats-server died.
    const jsm = await jetstreamManager(nc);
    let unfinished: string[] = [];
    const ends = await waitFor(
      `${RUNS} runs to finish`,
      async () => {
        const all = await Promise.all(runIds.map((id) => jsm.direct.getMessage(streams.events.name, { last_by_subj: subjects.runEvent(id, 'run.finished') })));
        unfinished = runIds.filter((_, i) => all[i] === null);
        return all.every((m) => m !== null) ? all.map((m) => m.json<RunFinished>()) : undefined;
      },
      { timeoutMs: WAIT_MS, intervalMs: 500 },
    ).catch(async (err: unknown) => {
      // say where each stuck run stopped, and keep the services' logs
      keepLogs = true;
      for (const runId of unfinished.slice(0, 5)) console.error(`${runId} did not finish; its events:\n${(await runTrail(nc, runId)).join('\n')}`);
      console.error(`service logs kept in ${logDir}`);
      throw err;
    });
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
        kills: kills.map((k) => `${k.target}: ${k.inFlight.length} in flight, ${k.completedBefore.size} completed before`),
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
    // The executor kills did hit work in flight, or the bound above would prove little.
    for (const kill of kills.filter((k) => k.target === 'executor')) expect(kill.inFlight.length).toBeGreaterThan(0);
    expect(await dlqCount(nc)).toBe(0);

    expect(stepsRepeated).toBeLessThanOrEqual(kills.reduce((n, k) => n + k.inFlight.length, 0));
  }, WAIT_MS + 60_000);
});
