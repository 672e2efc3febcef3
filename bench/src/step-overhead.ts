import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { submitRun, watchRun } from '@pipewright/cli';
import type { RunEvent } from '@pipewright/contracts';
import { parseBenchTarget, startProfiledStack } from './durable-throughput.js';
import { measureFloor } from './lib/floor.js';
import { perStep as countsPerStep, serverStats } from './lib/server-stats.js';
import { stackLoopDelays } from './lib/loop-delay.js';
import { percentile, round } from './lib/stats.js';

const STEPS_PER_RUN = 10;

/**
 * Per-step orchestration overhead with a 0-ms simulated model: serial runs of a linear pipeline; a
 * step's time is from its dispatch event to the next step's dispatch (the last: to run.finished), as
 * seen by a client. That covers command publish, executor pickup, the model HTTP call, the checkpoint,
 * the result publish, the planner's load/decide/CAS, and the next dispatch. `--profile strict` runs
 * nats-server with an fsync per write (the floor then includes it too).
 */
export async function stepOverhead(args: { steps: number; profile: string; store?: string }): Promise<Record<string, unknown>> {
  const runs = Math.max(1, Math.ceil(args.steps / STEPS_PER_RUN));
  const target = parseBenchTarget(args);
  const { stack, stop } = await startProfiledStack(target, ['planner', 'executor']);
  try {
    const nc = await connect(stack.natsOptions());
    const js = jetstream(nc);
    const pipeline = {
      name: 'overhead',
      defaults: { model: 'sim-small', maxOutputTokens: 16 },
      steps: Array.from({ length: STEPS_PER_RUN }, (_, i) => ({ id: `s${i}`, prompt: `step ${i}`, ...(i > 0 ? { needs: [`s${i - 1}`] } : {}) })),
    };
    // warm-up: JIT, connections, KV buckets
    for (let i = 0; i < 5; i++) await runOnce(js, pipeline);
    const perStep: number[] = [];
    const before = await serverStats(stack.nats.monitorPort);
    const started = performance.now();
    for (let r = 0; r < runs; r++) perStep.push(...(await runOnce(js, pipeline)));
    const elapsedMs = performance.now() - started;
    const counted = countsPerStep(before, await serverStats(stack.nats.monitorPort), runs * STEPS_PER_RUN);
    await nc.drain();
    const floor = await measureFloor(stack.natsOptions(), 2_000);
    const p50 = percentile(perStep, 50);
    return {
      name: 'step-overhead',
      p50Ms: round(p50),
      p99Ms: round(percentile(perStep, 99)),
      floorP50Ms: round(floor.p50Ms),
      floorP99Ms: round(floor.p99Ms),
      ratioP50: round(p50 / floor.p50Ms, 2),
      steps: perStep.length,
      stepsPerSec: round((perStep.length / elapsedMs) * 1000, 1),
      // counted by nats-server over the measured runs, per step (a run's submission, start and end
      // included): messages stored by stream, and what each service's connection sent and received
      writesPerStep: counted.writes,
      writesPerStepTotal: counted.writesTotal,
      messagesPerStep: Object.fromEntries(Object.entries(counted.clients).filter(([name]) => name.startsWith('pipewright-'))),
      store: target.store,
      profile: target.profile,
      serviceLoopDelay: await stackLoopDelays(stack),
    };
  } finally {
    await stop();
  }
}

async function runOnce(js: ReturnType<typeof jetstream>, pipeline: unknown): Promise<number[]> {
  const marks: number[] = [];
  const runId = await submitRun(js, pipeline, {});
  await watchRun(js, runId, (e: RunEvent) => {
    if (e.type === 'step.dispatched' || e.type === 'run.finished') marks.push(performance.now());
  }, { timeoutMs: 30_000 });
  return marks.slice(1).map((t, i) => t - marks[i]!);
}
