import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Worker } from 'node:worker_threads';
import { percentile, round } from './lib/stats.js';
import { CASES, EXACT_LIBRARIES, LIBRARIES, type CaseName, type Library } from './lib/tokenizers.js';
import type { JobResult } from './tokenizer-worker.js';

/** A count that takes longer than this is cut off (the thread is terminated) and reported as `> CAP_MS`. */
const CAP_MS = 20_000;
/** Time a worker gets on top of CAP_MS to start and load its library. */
const LOAD_SLACK_MS = 5_000;

type Outcome = JobResult | { overMs: number } | { error: string };

/**
 * o200k_base token counting, library against library, and the executor's own counter (`pipewright`):
 * time to load (import + build the encoder) and to first use, in a fresh thread each time; per-call
 * time on ordinary prompts (English-like prose and minified JSON, 1-100 KB) and on inputs that make
 * byte-pair merging super-linear (one long word, one repeated character, random base64, emoji); the
 * counts, to check that the libraries agree (`agree`) and how far the executor's is off (`errorPct`);
 * and how long the counting thread's event loop was held (`blockedMaxMs`: the executor's counter must
 * keep it under 50 ms whatever the input). Each measurement runs in a worker thread so that a call that
 * would take minutes is cut off at CAP_MS.
 */
export async function tokenizerBench(): Promise<Record<string, unknown>> {
  const outcomes = new Map<string, Outcome>();
  for (const name of Object.keys(CASES) as CaseName[]) {
    for (const lib of LIBRARIES) {
      const o = await measure(lib, name);
      outcomes.set(`${lib}/${name}`, o);
      console.error(`[tokenizer] ${name.padEnd(13)} ${lib.padEnd(14)} ${describe(o)}`);
    }
  }
  const cases: Record<string, unknown> = {};
  for (const name of Object.keys(CASES) as CaseName[]) {
    const row: Record<string, unknown> = {};
    for (const lib of LIBRARIES) {
      const o = outcomes.get(`${lib}/${name}`)!;
      if ('loadMs' in o) {
        row['chars'] = o.chars;
        row['bytes'] = o.bytes;
        row[lib] = { tokens: o.tokens, firstMs: round(o.firstMs, 2), p50Ms: round(o.p50Ms, 2), counts: o.counts, blockedMaxMs: round(o.blockedMaxMs, 1) };
      } else row[lib] = o;
    }
    const counts = EXACT_LIBRARIES.map((lib) => outcomes.get(`${lib}/${name}`)).flatMap((o) => (o && 'tokens' in o ? [o.tokens] : []));
    row['agree'] = counts.length < 2 ? null : counts.every((c) => c === counts[0]);
    // the executor's count against the exact one: 0 where no cut was needed, a small overestimate where a run was cut
    const ours = outcomes.get(`pipewright/${name}`);
    row['errorPct'] = ours && 'tokens' in ours && counts[0] !== undefined ? round(((ours.tokens - counts[0]) / counts[0]) * 100, 3) : null;
    cases[name] = row;
  }
  const load: Record<string, unknown> = {};
  for (const lib of LIBRARIES) {
    const done = [...outcomes.entries()].filter(([k]) => k.startsWith(`${lib}/`)).flatMap(([, o]) => ('loadMs' in o ? [o] : []));
    load[lib] = {
      p50Ms: round(percentile(done.map((o) => o.loadMs), 50), 1),
      maxMs: round(Math.max(...done.map((o) => o.loadMs)), 1),
      firstUseP50Ms: round(percentile(done.map((o) => o.firstUseMs), 50), 2),
      heapMb: round(percentile(done.map((o) => o.loadHeapMb), 50), 1),
      samples: done.length,
    };
  }
  // run.ts adds this process's loopDelay: the noise floor for blockedMaxMs (this thread mostly waits)
  return { name: 'tokenizer', versions: versions(), capMs: CAP_MS, load, cases, loadAvg1m: round(loadavg()[0] ?? 0, 2) };
}

function measure(lib: Library, name: CaseName): Promise<Outcome> {
  const worker = new Worker(new URL('./tokenizer-worker.js', import.meta.url), { workerData: { lib, name } });
  let cap: NodeJS.Timeout | undefined;
  return new Promise<Outcome>((resolve) => {
    // the cap runs from the thread's start: LOAD_SLACK_MS covers the library's load before the count
    cap = setTimeout(() => resolve({ overMs: CAP_MS }), CAP_MS + LOAD_SLACK_MS);
    worker.once('message', (r: JobResult) => resolve(r));
    worker.once('error', (err) => resolve({ error: err.message }));
    worker.once('exit', (code) => resolve({ error: `worker exited with ${code} before answering` }));
  }).finally(() => {
    clearTimeout(cap);
    void worker.terminate();
  });
}

function describe(o: Outcome): string {
  if ('overMs' in o) return `> ${o.overMs} ms (cut off)`;
  if ('error' in o) return `error: ${o.error}`;
  return `load ${o.loadMs.toFixed(0)} ms, first ${o.firstMs.toFixed(2)} ms, p50 ${o.p50Ms.toFixed(2)} ms, ${o.tokens} tokens, loop held ${o.blockedMaxMs.toFixed(0)} ms`;
}

function versions(): Record<string, string> {
  const v = (pkg: string) => (JSON.parse(readFileSync(new URL(`../node_modules/${pkg}/package.json`, import.meta.url), 'utf8')) as { version: string }).version;
  return { 'js-tiktoken': v('js-tiktoken'), 'gpt-tokenizer': v('gpt-tokenizer'), pipewright: `gpt-tokenizer ${v('gpt-tokenizer')} in slices` };
}
