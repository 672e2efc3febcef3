import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startSimProcess, submitRun, type LocalStack, type SimClient } from '@pipewright/cli';
import { consumers, streams, subjects } from '@pipewright/contracts';
import type { ProcessHandle } from '@pipewright/devstack';
import { parseBenchTarget, startProfiledStack } from './durable-throughput.js';
import { stackLoopDelays } from './lib/loop-delay.js';
import { percentile, round } from './lib/stats.js';

/** The first call of each trial's step lasts this long, so the kill always lands mid-call. */
const SLOW_CALL_MS = 4_000;
/** The kill comes at a uniform random instant this far into the call (any phase of the heartbeat). */
const KILL_WINDOW_MS = 1_500;
const POLL_MS = 5;
const PIPELINE = { name: 'recovery', defaults: { model: 'sim-small', maxOutputTokens: 16, timeoutMs: 30_000 }, steps: [{ id: 'slow', prompt: 'Take your time' }] };

/** One executor "slot": its own simulator process, so every model call is attributed to its executor. */
interface Slot {
  sim: SimClient;
  simProc: ProcessHandle;
  exec: ProcessHandle | undefined;
}

/**
 * Time from SIGKILL of the executor running a step (mid model call) until the step's model call is
 * made again by a live executor, over `trials` kills, in two set-ups:
 *
 * - `replica`: a second executor replica is already running; its rescuer sees the dead one gone and
 *   hands the step's message back, and the step is taken over (the headline figure, `p50Ms` / `maxMs`);
 * - `restart`: the only executor is killed and started again at once (`restartP50Ms` / `restartMaxMs`):
 *   the restarted process rescues its predecessor the same way, once it is up.
 *
 * Executors run with their default settings (AckWait 15 s: not what detects the death); `ackWaitMs` is
 * read back from the server's consumer to show it.
 */
export async function recoveryBench(args: { profile: string; store?: string }): Promise<Record<string, unknown>> {
  const target = parseBenchTarget(args);
  const trials = Number(process.env['PW_BENCH_TRIALS'] ?? 10);
  const { stack, stop } = await startProfiledStack(target, ['planner']);
  const slots: Slot[] = [];
  try {
    slots.push(await startSlot(), await startSlot());
    const nc = await connect(stack.natsOptions());
    await Promise.all(slots.map((s) => startExecutor(stack, s)));
    const info = await (await jetstreamManager(nc)).consumers.info(streams.steps.name, consumers.executor('default'));
    const ackWaitMs = (info.config.ack_wait ?? 0) / 1e6;

    const replica: number[] = [];
    for (let i = 0; i < trials; i++) replica.push(await replicaTrial(stack, nc, slots, `rec-r${i}-${Date.now()}`));
    // Restart mode: one executor only.
    await slots[1]!.exec?.stop(5_000);
    slots[1]!.exec = undefined;
    const restart: number[] = [];
    for (let i = 0; i < trials; i++) restart.push(await restartTrial(stack, nc, slots[0]!, `rec-s${i}-${Date.now()}`));
    await nc.drain();
    return {
      name: 'recovery',
      mode: 'replica',
      p50Ms: round(percentile(replica, 50), 0),
      maxMs: round(Math.max(...replica), 0),
      trials,
      restartP50Ms: round(percentile(restart, 50), 0),
      restartMaxMs: round(Math.max(...restart), 0),
      restartTrials: trials,
      ackWaitMs,
      detector: 'liveness ping + rescue (PW_EXECUTOR_RESCUE_INTERVAL_MS, default 1000)',
      store: target.store,
      profile: target.profile,
      loadAvg1m: round(loadavg()[0] ?? 0, 2),
      // the services still running (killed executors are gone): planner and the last executor
      serviceLoopDelay: await stackLoopDelays(stack),
    };
  } finally {
    for (const s of slots) await s.exec?.stop(5_000);
    await stop();
    for (const s of slots) await s.simProc.stop(2_000);
  }
}

async function startSlot(): Promise<Slot> {
  const { proc: simProc, client: sim } = await startSimProcess();
  await sim.setConfig({ latency: { fixedMs: SLOW_CALL_MS } });
  return { sim, simProc, exec: undefined };
}

async function startExecutor(stack: LocalStack, slot: Slot): Promise<void> {
  slot.exec = await stack.startService('executor', { OPENAI_BASE_URL: slot.sim.openaiBaseUrl });
}

const callsOf = async (slot: Slot, key: string) => (await slot.sim.counters()).byKey[key]?.calls ?? 0;

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

/** Submits a one-step run and waits until an executor's model call for it has started; returns its slot. */
async function startSlowStep(nc: NatsConnection, slots: readonly Slot[], runId: string): Promise<{ slot: Slot; finished: Promise<void> }> {
  const finished = new Promise<void>((resolve) => nc.subscribe(subjects.runEvent(runId, 'run.finished'), { max: 1, callback: () => resolve() }));
  await submitRun(jetstream(nc), PIPELINE, {}, { runId });
  const key = `${runId}:slow`;
  const slot = await until('the step’s first model call', async () => {
    for (const s of slots) if (s.exec && (await callsOf(s, key)) > 0) return s;
    return undefined;
  }, 30_000);
  return { slot, finished };
}

async function replicaTrial(stack: LocalStack, nc: NatsConnection, slots: Slot[], runId: string): Promise<number> {
  const key = `${runId}:slow`;
  const { slot: victim, finished } = await startSlowStep(nc, slots, runId);
  const survivor = slots.find((s) => s !== victim)!;
  await survivor.sim.setConfig({ latency: { fixedMs: 0 } });
  await sleep(Math.random() * KILL_WINDOW_MS);
  const t0 = performance.now();
  await victim.exec!.kill();
  victim.exec = undefined;
  await until('the step to run again on the other replica', async () => ((await callsOf(survivor, key)) > 0 ? true : undefined), 120_000);
  const ms = performance.now() - t0;
  process.stderr.write(`recovery: replica trial ${runId} ${Math.round(ms)} ms\n`);
  await finished;
  await survivor.sim.setConfig({ latency: { fixedMs: SLOW_CALL_MS } });
  await startExecutor(stack, victim);
  return ms;
}

async function restartTrial(stack: LocalStack, nc: NatsConnection, slot: Slot, runId: string): Promise<number> {
  const key = `${runId}:slow`;
  const { finished } = await startSlowStep(nc, [slot], runId);
  await sleep(Math.random() * KILL_WINDOW_MS);
  const t0 = performance.now();
  await slot.exec!.kill();
  await slot.sim.setConfig({ latency: { fixedMs: 0 } });
  await startExecutor(stack, slot);
  await until('the step to run again on the restarted executor', async () => ((await callsOf(slot, key)) > 1 ? true : undefined), 120_000);
  const ms = performance.now() - t0;
  process.stderr.write(`recovery: restart trial ${runId} ${Math.round(ms)} ms\n`);
  await finished;
  await slot.sim.setConfig({ latency: { fixedMs: SLOW_CALL_MS } });
  return ms;
}
