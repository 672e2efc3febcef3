import { jetstream } from '@nats-io/jetstream';
import { streams } from '@pipewright/contracts';
import { waitFor } from '@pipewright/devstack';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CHAOS_PIPELINE, dlqCount, STEP_IDS } from '../chaos/support.js';
import { readTaskLogs } from '../core/support.js';
import { ClusterStack, finishedRuns, REPLICAS, submitWithRetry } from './support.js';

const RUNS = 50;
/** Runs submitted before the kill; the rest are submitted while the cluster elects new leaders. */
const BEFORE_KILL = 25;
/** The node is killed once this share of the first runs' steps has completed. */
const KILL_AT = 0.25;
/** Model latency: long enough that many calls are in flight at the kill and after the restart. */
const LATENCY = { minMs: 400, maxMs: 1_200 } as const;
/** A backstop for each wait on the runs, not a figure under test. */
const WAIT_MS = 150_000;
/** The six-step fan-out pipeline of the chaos tests, metered (every call reserves on the R3 ledger). */
const PIPELINE = { ...CHAOS_PIPELINE, name: 'cluster', budget: { maxUsd: 5 } };

/**
 * The production topology: a 3-node nats-server cluster with every stream and KV bucket replicated
 * three times, and the four services connected to all nodes. The node that leads PW_EVENTS (task logs,
 * run events: the busiest stream) is SIGKILLed in the middle of 50 runs and restarted later on the same
 * ports and store. No run may be lost, and a model call may be repeated only for a step that was in
 * flight at the kill (its lease or its call before the kill, its completion not).
 */
describe('cluster: one of three nats-server nodes killed mid-run and restarted', () => {
  let stack: ClusterStack;
  beforeAll(async () => {
    stack = await ClusterStack.start({ sim: { seed: 11, latency: LATENCY } });
  }, 2 * WAIT_MS); // a backstop: three nodes and five services start on a possibly loaded machine
  afterAll(async () => {
    await stack?.stop();
  });
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      if (stack) stack.keepLogs = true;
    });
  });

  it(`loses no run and repeats no finished step: ${RUNS} runs`, { timeout: 3 * WAIT_MS }, async () => {
    const { nc, jsm } = await stack.client();
    const js = jetstream(nc);
    const runIds = Array.from({ length: RUNS }, (_, i) => `cluster-${String(i).padStart(3, '0')}`);
    const keys = runIds.flatMap((r) => STEP_IDS.map((s) => `${r}:${s}`));
    // Every stream, KV bucket (KV_*) and object store (OBJ_*) the services created is replicated.
    const assets = await jsm.streams.list().next();
    expect(assets.map((a) => a.config.name)).toContain(streams.events.name);
    expect(assets.filter((a) => a.config.num_replicas !== REPLICAS).map((a) => `${a.config.name}: R${a.config.num_replicas}`), 'assets not replicated').toEqual([]);

    await Promise.all(runIds.slice(0, BEFORE_KILL).map((id, i) => submitWithRetry(js, PIPELINE, { topic: `topic ${i}` }, id)));
    const firstKeys = keys.slice(0, BEFORE_KILL * STEP_IDS.length);
    await waitFor('steps to complete before the kill', async () => {
      const c = await stack.sim.counters();
      return firstKeys.filter((k) => (c.byKey[k]?.billed.answers ?? 0) > 0).length >= KILL_AT * firstKeys.length ? true : undefined;
    }, { timeoutMs: WAIT_MS, intervalMs: 20 });

    const victimName = await waitFor('the PW_EVENTS leader', () => stack.nats.streamLeader(streams.events.name), { timeoutMs: WAIT_MS });
    const victim = stack.nats.nodes.findIndex((n) => n.name === victimName);
    expect(victim, `PW_EVENTS leader ${victimName}`).toBeGreaterThanOrEqual(0);
    const killAt = Date.now();
    await stack.nats.kill(victim);

    // Clients submit while the cluster elects: they retry until a leader takes the request.
    const submitting = Promise.all(runIds.slice(BEFORE_KILL).map((id, i) => submitWithRetry(js, PIPELINE, { topic: `topic ${BEFORE_KILL + i}` }, id)));
    // As the nodes see it: this test's own connection may still be reconnecting.
    const newLeader = await waitFor('PW_EVENTS to elect a new leader', () => stack.nats.streamLeader(streams.events.name), { timeoutMs: WAIT_MS, intervalMs: 50 });
    const electionMs = Date.now() - killAt;
    const submitAttempts = await submitting;

    const restartAt = Date.now();
    await stack.nats.restart(victim);
    const rejoinMs = Date.now() - restartAt;

    const ends = await waitFor(`${RUNS} runs to finish`, async () => {
      const f = await finishedRuns(jsm, runIds);
      return f.length === RUNS ? f : undefined;
    }, { timeoutMs: WAIT_MS, intervalMs: 500 });
    await stack.nats.waitHealthy();

    // Afterwards, from the stream: task logs with their store times, and the simulator's calls.
    const logs = await readTaskLogs(js);
    const counters = await stack.sim.counters();
    const stored = (runId: string, stepId: string, type: string) =>
      [...(logs.get(runId) ?? new Map<string, { storedAtMs: number; entry: { type: string } }[]>())]
        .filter(([task]) => task.split('=')[0] === stepId)
        .flatMap(([, entries]) => entries.filter((e) => e.entry.type === type).map((e) => e.storedAtMs));
    const completedBeforeKill = new Set<string>();
    const inFlightAtKill = new Set<string>();
    const completionTimes: number[] = [];
    for (const key of keys) {
      const [runId, stepId] = key.split(':') as [string, string];
      const completions = stored(runId, stepId, 'step.completed');
      completionTimes.push(...completions);
      if (completions.some((t) => t <= killAt)) completedBeforeKill.add(key);
      else if (stored(runId, stepId, 'step.started').some((t) => t <= killAt) || (counters.byKey[key]?.arrivals ?? []).some((t) => t <= killAt)) inFlightAtKill.add(key);
    }
    const calls = (key: string) => counters.byKey[key]?.calls ?? 0;
    const allowed = (key: string) => (inFlightAtKill.has(key) ? 2 : 1);
    // Recovery as a user sees it: from the kill to the first step completed after it, and the gap
    // between the last completion before the kill and that one (store times of the stream).
    const firstAfter = Math.min(...completionTimes.filter((t) => t > killAt));
    const lastBefore = Math.max(...completionTimes.filter((t) => t <= killAt));
    const figures = {
      runs: RUNS,
      replicatedAssets: assets.length,
      finished: ends.length,
      succeeded: ends.filter((e) => e.status === 'succeeded').length,
      lost: RUNS - ends.length,
      steps: keys.length,
      modelCalls: keys.reduce((n, k) => n + calls(k), 0),
      repeatedCalls: keys.reduce((n, k) => n + Math.max(0, calls(k) - 1), 0),
      inFlightAtKill: inFlightAtKill.size,
      completedBeforeKill: completedBeforeKill.size,
      killed: `${victimName}->${newLeader}`,
      electionMs,
      recoveryMs: firstAfter - killAt,
      stallMs: firstAfter - lastBefore,
      rejoinMs,
      maxSubmitAttempts: Math.max(...submitAttempts),
    };
    console.info(`[cluster] node-kill ${JSON.stringify(figures)}`);

    expect(figures.finished, 'runs finished').toBe(RUNS);
    expect(ends.filter((e) => e.status !== 'succeeded').map((e) => `${e.runId}=${e.status}(${e.reason})`), 'runs that did not succeed').toEqual([]);
    expect(keys.filter((k) => calls(k) < 1), 'steps never called').toEqual([]);
    expect(keys.filter((k) => calls(k) > allowed(k)).map((k) => `${k}=${calls(k)}${inFlightAtKill.has(k) ? ' (in flight)' : ''}`), 'steps called more often than allowed').toEqual([]);
    expect(await dlqCount(nc), 'messages dead-lettered').toBe(0);
  });
});
