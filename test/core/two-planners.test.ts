import { describe, expect, it } from 'vitest';
import { logLines } from '../resilience/support.js';
import { callsByKey, CommandTap, coreStack, dlqCount, figures, notOnce, runIdsOf } from './support.js';

const RUNS = 30;
const STEPS = ['draft', 'review', 'final'] as const;
const LATENCY_MS = 5_000;
/** Shorter than a model call: a command republished after it, or an event delivered again, is not deduplicated by the stream. */
const DEDUPE_WINDOW_MS = 2_000;
/** Three calls of 5 s in a row per run, 30 runs side by side: ~15 s at best. */
const FINISH_MS = 150_000;

/** A chain: each step needs the one before it, so each run has one command in flight at a time, three times over. */
const CHAIN = {
  name: 'chain',
  defaults: { model: 'sim-small', maxOutputTokens: 16, timeoutMs: 60_000 },
  steps: [
    { id: 'draft', prompt: 'Draft an answer to {{input.n}}' },
    { id: 'review', needs: ['draft'], prompt: 'Review the draft of {{input.n}}' },
    { id: 'final', needs: ['review'], prompt: 'Finalise {{input.n}}' },
  ],
};

/**
 * Two planner processes share every run's events (one durable consumer, two replicas), with a dedupe
 * window of 2 s on every stream and model calls of 5 s: any command sent twice — by a replica that
 * applied an event the other had applied, or by an outbox republished — reaches the executor as a new
 * message, and only the task logs stand between it and a second model call.
 */
describe('two planners sharing runs, a dedupe window shorter than a model call', () => {
  const stack = coreStack('two-planners', {
    services: ['planner', 'planner', 'executor'],
    env: { PW_DEDUPE_WINDOW_MS: String(DEDUPE_WINDOW_MS) },
    sim: { latency: { fixedMs: LATENCY_MS } },
  });

  it(`calls the model once per step of ${RUNS} three-step chains, and every run succeeds`, { timeout: FINISH_MS + 60_000 }, async () => {
    const core = stack();
    const started = Date.now();
    const tap = new CommandTap(core.nc);
    try {
      await core.nc.flush();
      const dlqBefore = await dlqCount(core.nc);
      const runIds = runIdsOf('chain', RUNS);
      await core.submitAll(CHAIN, runIds);
      const ends = await core.events.allFinished(runIds, FINISH_MS);
      const calls = callsByKey(await core.stack.sim.counters(), runIds.flatMap((r) => STEPS.map((s) => `${r}:${s}`)));
      const repeated = notOnce(calls);
      const notSucceeded = ends.filter((e) => e.status !== 'succeeded').map((e) => `${e.runId}=${e.status}(${e.reason})`);
      const dlq = (await dlqCount(core.nc)) - dlqBefore;
      // Which replica applied each step result: both must have, or the runs were not shared.
      const applied = core.stack.processes('planner').map((p) => logLines(`${core.logDir}/${p.name}.log`).filter((l) => l['msg'] === 'step result applied').length);
      const replayLines = core.stack.processes('planner').reduce((n, p) => n + logLines(`${core.logDir}/${p.name}.log`).filter((l) => String(l['msg']).startsWith('event delivered again')).length, 0);

      figures('two-planners', {
        runs: RUNS,
        steps: RUNS * STEPS.length,
        succeeded: ends.length - notSucceeded.length,
        modelCalls: [...calls.values()].reduce((a, b) => a + b, 0),
        keysNotOnce: repeated.length,
        commandsPublished: tap.published,
        distinctCommandIds: tap.msgIds.size,
        replayMarked: tap.replays,
        outboxReplays: replayLines,
        appliedByPlanner: applied.join('/'),
        dlq,
        seconds: Math.round((Date.now() - started) / 1000),
      });
      expect(repeated, `steps whose model call count is not 1: ${repeated.slice(0, 20).join(', ')}`).toEqual([]);
      expect(notSucceeded, 'runs that did not succeed').toEqual([]);
      expect(tap.msgIds.size, 'distinct step commands: one per step').toBe(RUNS * STEPS.length);
      expect(applied.every((n) => n > 0), `both planners applied step results (${applied.join('/')})`).toBe(true);
      expect(dlq, 'messages dead-lettered during the test').toBe(0);
    } finally {
      tap.close();
    }
  });
});
