import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { submitRun } from '@pipewright/cli';
import { streams, subjects, TERMINAL_STATUSES } from '@pipewright/contracts';
import { waitFor } from '@pipewright/devstack';
import type { Stores } from '@pipewright/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventLog } from '../resilience/support.js';
import { taskEntry } from '../support/run.js';
import { CHAOS_ENV, CHAOS_PIPELINE, ChaosStack, dlqCount, STEP_IDS } from './support.js';

const RUNS = Number(process.env['PW_CHAOS_RUNS'] ?? 50);
/** Bounded waits grow with the number of runs (the soak variant runs many more). */
const WAIT_MS = Math.max(120_000, RUNS * 1_000);
/** nats-server is killed once this share of all steps has completed. */
const KILL_AT = 0.3;
/** How long the server stays down. */
const DOWN_MS = 1_500;

/**
 * The broker itself crashes: nats-server is SIGKILLed in the middle of 50 concurrent runs and started
 * again on the same port with the same store folder (JetStream file storage; the KV store lives in it
 * too). Services reconnect on their own. Nothing may be lost: every run finishes and succeeds, every
 * step has its checkpoint and every run its `run.finished` event in the stream, nothing is
 * dead-lettered, and a step whose completion was seen before the crash is never called again.
 */
describe('chaos: nats-server killed and restarted mid-run (same port, same store)', () => {
  let chaos: ChaosStack;
  let nc: NatsConnection;
  let events: EventLog;
  let store: { stores: Stores; close: () => Promise<void> };
  const logDir = mkdtempSync(join(tmpdir(), 'pw-chaos-nats-'));

  beforeAll(async () => {
    chaos = await ChaosStack.start({ store: 'kv', logDir, env: CHAOS_ENV });
    nc = await connect({ ...chaos.natsOptions(), maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    events = await EventLog.start(chaos.natsOptions());
    store = await chaos.openStores();
  });
  afterAll(async () => {
    await store?.close();
    await events?.close().catch(() => undefined);
    await nc?.drain();
    await chaos?.stop();
    if (process.env['PW_KEEP_LOGS'] === undefined) rmSync(logDir, { recursive: true, force: true });
  });

  it(`loses nothing: all ${RUNS} runs finish`, async () => {
    const started = Date.now();
    const js = jetstream(nc);
    const runIds = await Promise.all(Array.from({ length: RUNS }, (_, i) => submitRun(js, CHAOS_PIPELINE, { topic: `topic ${i}` }, { runId: `nats-crash-${i}` })));
    const completed = () => new Set(runIds.flatMap((r) => events.events(r).flatMap((e) => (e.type === 'step.completed' ? [`${r}:${e.stepId}`] : []))));
    await waitFor('the steps before the crash', () => (completed().size >= KILL_AT * RUNS * STEP_IDS.length ? true : undefined), { timeoutMs: WAIT_MS, intervalMs: 20 });

    const callsThen = chaos.calls();
    const completedBefore = new Map([...completed()].map((key) => [key, callsThen.get(key)?.calls ?? 0]));
    await chaos.stack.nats.kill();
    await sleep(DOWN_MS);
    await chaos.stack.nats.restart();

    // The core subscription of the event log missed what was published while the server was down, so
    // the outcome is read from the store and the stream, which keep everything.
    const states = await waitFor(
      `${RUNS} runs to end`,
      async () => {
        const all = await Promise.all(runIds.map((id) => store.stores.runs.get(id)));
        return all.every((s) => s !== undefined && TERMINAL_STATUSES.has(s.value.status)) ? all.map((s) => s!.value) : undefined;
      },
      { timeoutMs: WAIT_MS, intervalMs: 250 },
    );
    expect(states.filter((s) => s.status !== 'succeeded').map((s) => ({ runId: s.runId, status: s.status }))).toEqual([]);

    const jsm = await jetstreamManager(nc);
    for (const runId of runIds) {
      const finished = await jsm.streams.getMessage(streams.events.name, { last_by_subj: subjects.runEvent(runId, 'run.finished') });
      expect(finished?.json<{ status: string }>().status).toBe('succeeded');
      for (const stepId of STEP_IDS) expect((await taskEntry(nc, runId, `${stepId}=1`))?.type, `${runId}:${stepId} checkpoint`).toBe('step.completed');
    }
    expect(await dlqCount(nc)).toBe(0);

    const calls = chaos.calls();
    const keys = runIds.flatMap((r) => STEP_IDS.map((s) => `${r}:${s}`));
    expect(keys.filter((key) => (calls.get(key)?.calls ?? 0) < 1)).toEqual([]);
    expect(completedBefore.size).toBeGreaterThan(0);
    expect([...completedBefore].filter(([key, then]) => calls.get(key)!.calls !== then)).toEqual([]);
    const repeats = keys.reduce((n, key) => n + calls.get(key)!.calls - 1, 0);
    // Not asserted: how many steps in flight during the outage were called again (their checkpoint or
    // their ack could not be written while the server was down, so they were redelivered).
    console.info(JSON.stringify({ chaos: 'nats-restart', store: 'kv', runs: RUNS, steps: keys.length, completedBeforeCrash: completedBefore.size, repeatedCalls: repeats, maxCallsPerStep: Math.max(...keys.map((key) => calls.get(key)!.calls)), downMs: DOWN_MS, seconds: Math.round((Date.now() - started) / 100) / 10 }));
  }, WAIT_MS + 60_000);
});
