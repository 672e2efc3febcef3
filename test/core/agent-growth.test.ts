import { Kvm } from '@nats-io/kv';
import { buckets } from '@pipewright/contracts';
import type { ScriptEntry } from '@pipewright/llm-sim';
import { serveTool, type ToolHandle } from '@pipewright/tools';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { coreStack, figures } from './support.js';

const TURNS = 100;
const PAGE_BYTES = 20 * 1024;
/** The planner's default PW_RUN_STATE_MAX_BYTES (512 KiB): the test runs the planner with its defaults. */
const RUN_STATE_MAX_BYTES = 512 * 1024;
const FINISH_MS = 200_000;
const RUN_ID = 'agent-growth';
const STEP = 'reader';

/**
 * The simulator's scripts pick the first entry whose `match` fits the call, and `match.key` is a prefix
 * of the Idempotency-Key, which for an agent turn is `<runId>:<stepId>:t<turn>`. A `replies` sequence
 * advances per key, so it cannot tell turns apart (each turn has a key of its own); one entry per turn
 * can. Entries go longest turn number first, so that `…:t1` (a prefix of `…:t10` and `…:t100`) only
 * matches turn 1 once the longer keys have had their own entries. Every tool call asks for another
 * page, so the repetition guard never fires; turn 100 answers.
 */
function script(runId: string): ScriptEntry[] {
  const entries: ScriptEntry[] = [{ match: { key: `${runId}:${STEP}:t${TURNS}` }, reply: { json: { summary: `read ${TURNS - 1} pages` } } }];
  for (let turn = TURNS - 1; turn >= 1; turn--) entries.push({ match: { key: `${runId}:${STEP}:t${turn}` }, reply: { toolCalls: [{ name: 'read-page', arguments: { page: turn } }] } });
  return entries;
}

const PIPELINE = {
  name: 'agent-growth',
  defaults: { model: 'sim-small', timeoutMs: 60_000 },
  // The schema comes from the tool registry: the tool served below registers itself.
  tools: { 'read-page': { description: 'Read one page of the manual' } },
  steps: [
    {
      id: STEP,
      kind: 'agent',
      prompt: 'Read the manual page by page, then summarise it',
      tools: ['read-page'],
      maxIterations: TURNS,
      output: { type: 'object', properties: { summary: { type: 'string' } }, required: ['summary'] },
    },
  ],
  // 100 model turns and 99 tool calls are 199 dispatches.
  limits: { maxSteps: 2 * TURNS },
};

/**
 * A long agent loop with large tool results: 100 model turns, each but the last calling a tool that
 * returns 20 KB. The history is trimmed to its token budget, outputs and outbox payloads above their
 * thresholds are stored as blobs, so the stored run must stay far below PW_RUN_STATE_MAX_BYTES however
 * long the loop runs. Every stored version of the run is sampled (a KV watch on its key).
 */
describe('an agent of 100 turns with 20 KB tool results', () => {
  const stack = coreStack('agent-growth', { services: ['planner', 'executor'] });
  let tool: ToolHandle | undefined;
  const pages: number[] = [];

  beforeAll(async () => {
    tool = await serveTool(stack().nc, {
      name: 'read-page',
      description: 'Read one page of the manual',
      version: '1.0.0',
      input: z.object({ page: z.number().int() }),
      handler: ({ page }) => {
        pages.push(page);
        return Promise.resolve({ page, text: String(page % 10).repeat(PAGE_BYTES) });
      },
    });
    await tool.registered;
  });
  afterAll(async () => {
    await tool?.stop();
  });

  it(`finishes all ${TURNS} turns and keeps the stored run under ${RUN_STATE_MAX_BYTES} bytes`, { timeout: FINISH_MS + 60_000 }, async () => {
    const core = stack();
    const started = Date.now();
    await core.stack.sim.setConfig({ scripts: script(RUN_ID) });
    const kv = await new Kvm(core.nc).open(buckets.runs);
    const sizes: number[] = [];
    const watch = await kv.watch({ key: RUN_ID });
    const watching = (async () => {
      for await (const e of watch) if (e.operation === 'PUT') sizes.push(e.length);
    })();
    try {
      await core.submitAll(PIPELINE, [RUN_ID]);
      const [end] = await core.events.allFinished([RUN_ID], FINISH_MS);
      const counters = await core.stack.sim.counters();
      const turns = Object.keys(counters.byKey).filter((k) => k.startsWith(`${RUN_ID}:${STEP}:t`));
      const repeatedTurns = turns.filter((k) => counters.byKey[k]!.calls !== 1);
      const maxBytes = Math.max(0, ...sizes);
      const lastRun = await kv.get(RUN_ID);

      figures('agent-growth', {
        status: end!.status,
        turns: turns.length,
        turnsNotOnce: repeatedTurns.length,
        toolCalls: pages.length,
        storedVersions: sizes.length,
        maxStoredBytes: maxBytes,
        finalStoredBytes: lastRun?.length ?? 0,
        limitBytes: RUN_STATE_MAX_BYTES,
        seconds: Math.round((Date.now() - started) / 1000),
      });
      expect(end, `the run's end: ${end!.reason}`).toMatchObject({ status: 'succeeded', output: { summary: `read ${TURNS - 1} pages` } });
      expect(turns, 'model turns (one Idempotency-Key each)').toHaveLength(TURNS);
      expect(repeatedTurns, 'turns whose model call count is not 1').toEqual([]);
      expect([...pages].sort((a, b) => a - b), 'pages read: each once, 1…99').toEqual(Array.from({ length: TURNS - 1 }, (_, i) => i + 1));
      // Every transition stores the run: a turn and a tool result each, at the very least.
      expect(sizes.length, 'stored versions of the run seen by the watch').toBeGreaterThanOrEqual(2 * (TURNS - 1));
      expect(maxBytes, `largest stored version of the run (bytes), against PW_RUN_STATE_MAX_BYTES`).toBeLessThan(RUN_STATE_MAX_BYTES);
    } finally {
      watch.stop();
      await watching;
    }
  });
});
