import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { submitRun, watchRun } from '@pipewright/cli';
import type { RunEvent } from '@pipewright/contracts';
import { parseBenchTarget, startProfiledStack } from './durable-throughput.js';
import { measureFloor } from './lib/floor.js';
import { stackLoopDelays } from './lib/loop-delay.js';
import { round } from './lib/stats.js';

const CONCURRENCY = Number(process.env['PW_BENCH_MAP_CONCURRENCY'] ?? 16);

/**
 * A map's throughput with a 0-ms simulated model: one run of one map over `--steps` items (1,000 by
 * default), `concurrency` 16 (`PW_BENCH_MAP_CONCURRENCY`), planner and one executor. Items/s is from the
 * map's first item dispatch to `run.finished`. Each item is a whole step (command, executor pickup,
 * model HTTP call, checkpoint, result, the planner's load/decide/CAS of a run that holds every finished
 * item so far, the next dispatch). The floor is raw NATS: a command through a work-queue stream and a
 * result back through another, serially (see lib/floor.ts); `floorPerSec × concurrency` would be the
 * bound if NATS round trips overlapped perfectly.
 */
export async function mapBench(args: { steps: number; profile: string; store?: string }): Promise<Record<string, unknown>> {
  const items = Math.max(1, args.steps);
  const target = parseBenchTarget(args);
  const { stack, stop } = await startProfiledStack(target, ['planner', 'executor']);
  try {
    const nc = await connect(stack.natsOptions());
    const js = jetstream(nc);
    const pipeline = (n: number) => ({
      name: 'map-bench',
      defaults: { model: 'sim-small', maxOutputTokens: 16 },
      limits: { maxSteps: n + 10, deadlineMs: 3_600_000 },
      steps: [{ id: 'each', kind: 'map', over: 'input.lines', concurrency: CONCURRENCY, maxItems: Math.max(n, 1), step: { prompt: 'Item {{index}}: {{item}}' } }],
    });
    const lines = (n: number) => Array.from({ length: n }, (_, i) => `line ${i}`);
    await runOnce(js, pipeline(50), lines(50)); // warm-up: JIT, connections, KV buckets
    const { ms, status } = await runOnce(js, pipeline(items), lines(items));
    await nc.drain();
    const floor = await measureFloor(stack.natsOptions(), 2_000);
    const itemsPerSec = (items / ms) * 1000;
    return {
      name: 'map',
      items,
      concurrency: CONCURRENCY,
      status,
      seconds: round(ms / 1000, 2),
      itemsPerSec: round(itemsPerSec, 1),
      floorPerSec: round(floor.perSec, 1),
      floorP50Ms: round(floor.p50Ms),
      ratioToSerialFloor: round(itemsPerSec / floor.perSec, 2),
      store: target.store,
      profile: target.profile,
      serviceLoopDelay: await stackLoopDelays(stack),
    };
  } finally {
    await stop();
  }
}

async function runOnce(js: ReturnType<typeof jetstream>, pipeline: unknown, lines: string[]): Promise<{ ms: number; status: string }> {
  let first: number | undefined;
  let status = 'unknown';
  const runId = await submitRun(js, pipeline, { lines });
  await watchRun(js, runId, (e: RunEvent) => {
    if (e.type === 'step.dispatched') first ??= performance.now();
    if (e.type === 'run.finished') status = e.status;
  }, { timeoutMs: 600_000 });
  return { ms: performance.now() - (first ?? performance.now()), status };
}
