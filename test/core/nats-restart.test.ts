import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { streams, subjects, type RunFinished } from '@pipewright/contracts';
import { waitFor } from '@pipewright/devstack';
import { describe, expect, it } from 'vitest';
import { callsByKey, coreStack, dlqCount, figures, notOnce, ONLY, oneStepPipeline, runIdsOf } from './support.js';

const RUNS = 60;
const LATENCY_MS = 3_000;
/** How long nats-server stays down: the fault itself, not a wait for anything. */
const NATS_DOWN_MS = 1_500;
const FINISH_MS = 180_000;
/**
 * How long one executor stays paused after the server is back: long enough for its peer's rescuer to
 * find it absent (with PW_EXECUTOR_RECONNECT_GRACE_MS=0 this test sees ~28 of 60 steps called twice),
 * shorter than the reconnect grace (10 s by default).
 */
const PAUSED_AFTER_RESTART_MS = 7_000;

/**
 * nats-server restarted while two executors hold many tasks, some mid-call (3 s each), some waiting on
 * the budget's reply before their call. No process died, so no model call may be made twice: each
 * executor reconnects at its own moment, and a peer that is back first must not take the tasks of one
 * that is not back yet (one executor is paused for seconds after the restart, so its liveness ping finds
 * no responders meanwhile), nor may an executor that
 * was cut off call the model for a task a peer took meanwhile.
 */
describe('nats-server restarted under two executors with calls in flight', () => {
  const stack = coreStack('nats-restart', {
    services: ['planner', 'budget', 'executor', 'executor'],
    sim: { latency: { fixedMs: LATENCY_MS } },
  });

  it(`calls the model once for each of ${RUNS} steps, and every run succeeds`, { timeout: FINISH_MS + 60_000 }, async () => {
    const core = stack();
    const started = Date.now();
    const runIds = runIdsOf('restart', RUNS);
    const keys = runIds.map((r) => `${r}:${ONLY}`);
    await core.submitAll(oneStepPipeline('nats-restart'), runIds);
    // Many calls under way, so the restart falls in the middle of them.
    const inFlightAtKill = await waitFor('calls in flight on the simulator', async () => {
      const c = await core.stack.sim.counters();
      const n = keys.filter((k) => c.byKey[k] !== undefined).length;
      return n >= RUNS / 3 ? n : undefined;
    }, { timeoutMs: 60_000, intervalMs: 20 });
    // The second executor is paused through the outage and for a while after it (a GC pause, a
    // throttled container): it reconnects seconds after its peer, whose pings find it absent meanwhile.
    const slow = core.stack.processes('executor')[1]!;
    await core.stack.nats.kill();
    process.kill(slow.pid, 'SIGSTOP');
    try {
      await sleep(NATS_DOWN_MS);
      await core.stack.nats.restart();
      await sleep(PAUSED_AFTER_RESTART_MS);
    } finally {
      process.kill(slow.pid, 'SIGCONT');
    }

    // From the stream: a core subscription misses what was published while it reconnected. (A request
    // fails while this test's own connection is still reconnecting: the condition is asked again.)
    const ends = await waitFor(`${RUNS} runs to finish`, async () => {
      const jsm = await jetstreamManager(core.nc);
      const all = await Promise.all(runIds.map((id) => jsm.direct.getMessage(streams.events.name, { last_by_subj: subjects.runEvent(id, 'run.finished') })));
      return all.every((m) => m !== null) ? all.map((m) => m.json<RunFinished>()) : undefined;
    }, { timeoutMs: FINISH_MS, intervalMs: 500 });
    const calls = callsByKey(await core.stack.sim.counters(), keys);
    const repeated = notOnce(calls);
    const notSucceeded = ends.filter((e) => e.status !== 'succeeded').map((e) => `${e.runId}=${e.status}(${e.reason})`);
    core.evidence = { calls, ends };

    figures('nats-restart', {
      runs: RUNS,
      callsStartedBeforeKill: inFlightAtKill,
      modelCalls: [...calls.values()].reduce((a, b) => a + b, 0),
      keysNotOnce: repeated.length,
      succeeded: ends.length - notSucceeded.length,
      seconds: Math.round((Date.now() - started) / 1000),
    });
    expect(repeated, `steps whose model call count is not 1: ${repeated.slice(0, 20).join(', ')}`).toEqual([]);
    expect(notSucceeded, 'runs that did not succeed').toEqual([]);
    expect(await dlqCount(core.nc), 'messages dead-lettered').toBe(0);
  });
});
