import { submitRun } from '@pipewright/cli';
import { consumers, RunRequest, SCHEMA_VERSION, subjects } from '@pipewright/contracts';
import { openKvStores, publishJson } from '@pipewright/kit';
import { waitFor } from '@pipewright/devstack';
import { describe, expect, it } from 'vitest';
import { coreStack } from '../core/support.js';
import { callsOfStep, drained, eventOf, nthFinished } from './run-control-support.js';

/**
 * A run id sent again: the same request is the same run (JetStream drops the copy inside its duplicate
 * window, the planner after it); a different request reaches the planner — its msg id carries the
 * request's digest — and is refused with `run.rejected` (reason `conflict`) naming what differs, while
 * the run goes on as it was.
 */
describe('resubmitting a run id', () => {
  const stack = coreStack('resubmit', { services: ['planner', 'executor', 'budget'] });
  const pipeline = {
    name: 'resubmit',
    defaults: { model: 'sim-small', maxOutputTokens: 32 },
    input: { type: 'object', properties: { topic: { type: 'string' }, audience: { type: 'string' } }, required: ['topic'] },
    steps: [{ id: 'only', prompt: 'About {{input.topic}}' }],
  };

  it('(d) with a different input is refused as a conflict naming input.<field>; the same request again is the same, one run', async () => {
    const core = stack();
    const runId = 'resubmit-1';
    await submitRun(core.js, pipeline, { topic: 'tides' }, { runId });
    const first = await nthFinished(core.events, runId, 1);
    expect(first.status).toBe('succeeded');

    await submitRun(core.js, pipeline, { topic: 'waves', audience: 'kids' }, { runId });
    const rejected = await eventOf(core.events, runId, 'run.rejected');
    expect(rejected).toMatchObject({ reason: 'conflict' });
    expect(rejected.issues.map((i) => i.path)).toEqual(['input.audience', 'input.topic']);

    // the same request again: dropped by JetStream as a duplicate (same digest, same msg id) …
    await submitRun(core.js, pipeline, { topic: 'tides' }, { runId });
    // … and, under another msg id (after the duplicate window), taken by the planner as the same run
    const same = RunRequest.parse({ schemaVersion: SCHEMA_VERSION, runId, pipeline, input: { topic: 'tides' } });
    await publishJson(core.js, subjects.runSubmit, same, { msgId: `later:${runId}` });
    await drained(core.nc, consumers.plannerRuns);

    const events = core.events.events(runId);
    core.evidence = { events };
    expect(events.filter((e) => e.type === 'run.started')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'run.finished')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'run.rejected')).toHaveLength(1);
    const run = (await (await openKvStores(core.nc)).runs.get(runId))?.value;
    expect(run).toMatchObject({ status: 'succeeded', input: { topic: 'tides' } });
    expect(callsOfStep(await core.stack.sim.counters(), runId, 'only')).toEqual({ [`${runId}:only`]: 1 });

    // a second, different conflicting request gets its own rejection (not dropped as a copy of the first)
    await submitRun(core.js, pipeline, { topic: 'reefs' }, { runId });
    const rejections = await waitFor('a second rejection', () => {
      const seen = core.events.events(runId).filter((e) => e.type === 'run.rejected');
      return seen.length >= 2 ? seen : undefined;
    }, { timeoutMs: 30_000, intervalMs: 50 });
    expect(rejections.map((e) => (e.type === 'run.rejected' ? e.issues.map((i) => i.path) : []))).toEqual([['input.audience', 'input.topic'], ['input.topic']]);
  });
});
