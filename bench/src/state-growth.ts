import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { jetstream } from '@nats-io/jetstream';
import { Kvm, KvWatchInclude } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { LocalStack, submitRun, watchRun } from '@pipewright/cli';
import { buckets } from '@pipewright/contracts';
import { serveTool } from '@pipewright/tools';
import { z } from 'zod';
import { stackLoopDelays } from './lib/loop-delay.js';
import { round } from './lib/stats.js';

const SIZES = [5, 20, 50] as const;
/** Runs of each shape; the CPU per transition is their average. */
const RUNS_EACH = 4;
/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ). */
const USER_HZ = 100;
/** A step output of an ordinary size (a few hundred tokens of JSON), kept inline in the run. */
const OUTPUT = { summary: 'x'.repeat(600), facts: ['a', 'b', 'c'] };

interface Row {
  kind: 'pipeline' | 'agent';
  size: number;
  /** Planner CPU per transition it applied (a step result, an agent turn or tool result). */
  plannerCpuMsPerTransition: number;
  /** Largest stored run state seen while the runs went (bytes of JSON), and at the end. */
  maxStoredBytes: number;
  finalStoredBytes: number;
}

/**
 * Whether the cost of one transition stays flat as a run grows (issue 10, item 4): for 5-, 20- and
 * 50-step pipelines (a chain, outputs of ~700 bytes) and 5-, 20- and 50-turn agents (a tool call a
 * turn, ~1 KB results), the planner's CPU per transition and the stored run's size, read from the KV
 * bucket on every revision while the runs go. Serial runs, so the CPU is the planner's own.
 */
export async function stateGrowth(): Promise<Record<string, unknown>> {
  const stack = await LocalStack.start({ services: ['planner', 'executor'], env: { PW_LOG_LEVEL: 'warn' } });
  const nc = await connect(stack.natsOptions());
  try {
    const tool = await serveTool(nc, { name: 'fetch-page', description: 'A page of results', input: z.object({ page: z.number().int() }).strict(), handler: ({ page }) => Promise.resolve({ page, text: 'y'.repeat(1_000) }) });
    const sizes = await watchSizes(nc);
    // warm-up: JIT, connections, buckets; not counted
    for (const kind of ['pipeline', 'agent'] as const) await runOne(stack, nc, kind, 5, -1);
    const rows: Row[] = [];
    for (const kind of ['pipeline', 'agent'] as const) {
      for (const size of SIZES) {
        const runIds: string[] = [];
        const cpu0 = plannerCpuMs(stack);
        for (let r = 0; r < RUNS_EACH; r++) runIds.push(await runOne(stack, nc, kind, size, r));
        const cpu = plannerCpuMs(stack) - cpu0;
        // the submission, then a pipeline applies one result a step; an agent two a turn (the turn, its tool call) but the last
        const transitions = RUNS_EACH * (1 + (kind === 'pipeline' ? size : 2 * size - 1));
        rows.push({
          kind,
          size,
          plannerCpuMsPerTransition: round(cpu / transitions, 3),
          maxStoredBytes: Math.max(...runIds.map((id) => sizes.max.get(id) ?? 0)),
          finalStoredBytes: Math.max(...runIds.map((id) => sizes.last.get(id) ?? 0)),
        });
      }
    }
    await tool.stop(1_000);
    sizes.stop();
    return { name: 'state-growth', rows, runsEach: RUNS_EACH, loadAvg1m: round(loadavg()[0] ?? 0, 2), serviceLoopDelay: await stackLoopDelays(stack) };
  } finally {
    await nc.drain();
    await stack.stop();
  }
}

async function runOne(stack: LocalStack, nc: NatsConnection, kind: 'pipeline' | 'agent', size: number, r: number): Promise<string> {
  const js = jetstream(nc);
  const runId = `growth-${kind}-${size}-${r}-${Date.now()}`;
  if (kind === 'pipeline') {
    await stack.sim.setConfig({ scripts: [{ match: { key: runId }, reply: { json: OUTPUT } }] });
    const steps = Array.from({ length: size }, (_, i) => ({ id: `s${i}`, prompt: `step ${i} after {{input.topic}}`, ...(i > 0 ? { needs: [`s${i - 1}`] } : {}) }));
    await submitRun(js, { name: `chain-${size}`, defaults: { model: 'sim-small', maxOutputTokens: 400 }, steps }, { topic: 'tides' }, { runId });
  } else {
    // every turn but the last asks for the next page (the same call: the repetition guard is set past it)
    await stack.sim.setConfig({
      scripts: [
        { match: { key: `${runId}:agent:t${size}` }, reply: { content: JSON.stringify({ done: true }) } },
        { match: { key: `${runId}:agent:t` }, reply: { toolCalls: [{ name: 'fetch-page', arguments: { page: 1 } }] } },
      ],
    });
    const pipeline = {
      name: `agent-${size}`,
      defaults: { model: 'sim-small', maxOutputTokens: 64 },
      tools: { 'fetch-page': { description: 'A page of results', input: { type: 'object', properties: { page: { type: 'integer' } }, required: ['page'] } } },
      steps: [{ id: 'agent', kind: 'agent', prompt: 'Read every page about {{input.topic}}', tools: ['fetch-page'], maxIterations: size, repeatLimit: size + 1, historyTokens: 4_000 }],
      limits: { maxSteps: 4 * size },
    };
    await submitRun(js, pipeline, { topic: 'tides' }, { runId });
  }
  const end = await watchRun(js, runId, () => undefined, { timeoutMs: 120_000 });
  if (end.type !== 'run.finished' || end.status !== 'succeeded') throw new Error(`run ${runId} did not succeed: ${JSON.stringify(end).slice(0, 300)}`);
  return runId;
}

/** Watches the runs bucket: the size of every revision of every run, the largest and the last. */
async function watchSizes(nc: NatsConnection): Promise<{ max: Map<string, number>; last: Map<string, number>; stop: () => void }> {
  const kv = await new Kvm(nc).open(buckets.runs);
  const max = new Map<string, number>();
  const last = new Map<string, number>();
  const w = await kv.watch({ include: KvWatchInclude.UpdatesOnly });
  void (async () => {
    for await (const e of w) {
      const bytes = e.value.length;
      last.set(e.key, bytes);
      max.set(e.key, Math.max(max.get(e.key) ?? 0, bytes));
    }
  })();
  return { max, last, stop: () => w.stop() };
}

function plannerCpuMs(stack: LocalStack): number {
  let ms = 0;
  for (const p of stack.processes('planner')) {
    const fields = readFileSync(`/proc/${p.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    ms += ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
  }
  return ms;
}
