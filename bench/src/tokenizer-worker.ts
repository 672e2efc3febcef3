import { parentPort, workerData } from 'node:worker_threads';
import { startLoopDelayMonitor, type LoopDelayMonitor } from '@pipewright/kit';
import { CASES, loadCounter, type CaseName, type Library } from './lib/tokenizers.js';

/**
 * One measurement of the tokenizer benchmark, in a fresh thread (so that the library loads cold and
 * a call that never ends can be cut off by terminating the thread): load, first use, then counts of
 * one input, while a monitor watches this thread's event loop.
 */

/** Repeats of a count after the first, while they fit in REPEAT_BUDGET_MS. */
const MAX_REPEATS = 9;
const REPEAT_BUDGET_MS = 2_000;

export interface JobResult {
  loadMs: number;
  /** Heap the loaded encoder keeps (this thread's V8 heap after the load, less before). */
  loadHeapMb: number;
  firstUseMs: number;
  /** Of the first input (seed 1); the counts of all libraries on it must agree. */
  chars: number;
  bytes: number;
  tokens: number;
  /** The first count (cold caches, code not yet optimised). */
  firstMs: number;
  /** Median over all counts: the first and up to MAX_REPEATS inputs of the same kind made with other seeds. */
  p50Ms: number;
  counts: number;
  /** The longest this thread's event loop was held while counting. */
  blockedMaxMs: number;
}

/** Resolves once the monitor has sampled again: a stall is only recorded at the next firing. */
async function nextSample(m: LoopDelayMonitor): Promise<void> {
  const seen = m.read().samples;
  while (m.read().samples < seen + 2) await new Promise((r) => setTimeout(r, 5));
}

async function run(lib: Library, name: CaseName): Promise<JobResult> {
  const heapBefore = process.memoryUsage().heapUsed;
  let t = performance.now();
  const count = await loadCounter(lib);
  const loadMs = performance.now() - t;
  const loadHeapMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
  t = performance.now();
  await count('hello world');
  const firstUseMs = performance.now() - t;

  // the inputs are made before the monitor starts: making 500k characters holds the loop too
  const inputs = [CASES[name](1)];
  for (let seed = 2; seed <= 1 + MAX_REPEATS; seed++) inputs.push(CASES[name](seed));
  const loop = startLoopDelayMonitor();
  await nextSample(loop);
  const times: number[] = [];
  const budgetEnds = performance.now() + REPEAT_BUDGET_MS;
  let tokens = 0;
  for (const text of inputs) {
    if (times.length > 0 && performance.now() + times[0]! >= budgetEnds) break;
    t = performance.now();
    const n = await count(text);
    times.push(performance.now() - t);
    if (times.length === 1) tokens = n;
    // let the loop turn between two counts, so that blockedMaxMs is the longest single count
    await new Promise((r) => setImmediate(r));
  }
  await nextSample(loop);
  const blockedMaxMs = loop.stop().maxMs;
  const sorted = [...times].sort((a, b) => a - b);
  const first = inputs[0]!;
  return { loadMs, loadHeapMb, firstUseMs, chars: first.length, bytes: Buffer.byteLength(first), tokens, firstMs: times[0]!, p50Ms: sorted[Math.floor((sorted.length - 1) / 2)]!, counts: times.length, blockedMaxMs };
}

const job = workerData as { lib: Library; name: CaseName };
parentPort?.postMessage(await run(job.lib, job.name));
