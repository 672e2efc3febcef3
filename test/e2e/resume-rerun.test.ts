import { jetstreamManager } from '@nats-io/jetstream';
import { submitRun } from '@pipewright/cli';
import { consumers, streams, subjects } from '@pipewright/contracts';
import { openKvStores } from '@pipewright/kit';
import { describe, expect, it } from 'vitest';
import { coreStack, runBudget } from '../core/support.js';
import { callsOfStep, chain, drained, eventOf, nthFinished, publishRerun, publishResume } from './run-control-support.js';

/**
 * Resume and re-run on the local stack (nats-server, the simulator, planner, executor and budget as
 * processes): a failed run resumed from its failed step, a budget-exhausted run resumed with more
 * money, a re-run from the last step, and a re-run whose reused output outlives its source run. Model
 * calls are counted per Idempotency-Key: `<run>:<step>` for a step's first dispatch, `…:a<n>` after.
 */
describe('resume a stopped run, re-run from a step', () => {
  const stack = coreStack('resume-rerun', { services: ['planner', 'executor', 'budget'] });

  it('(a) a run that failed at step 2 of 3 resumes and succeeds: step 1 called once overall, step 2 twice', async () => {
    const core = stack();
    const runId = 'resume-failed';
    // every answer for s2 breaks its schema: with no attempt left for a re-ask, the step fails
    await core.stack.sim.setConfig({ scripts: [{ match: { key: `${runId}:s2` }, fault: 'schema-break' }] });
    await submitRun(core.js, chain('resume-a'), { topic: 'tides' }, { runId });
    const first = await nthFinished(core.events, runId, 1);
    expect(first).toMatchObject({ status: 'failed', reason: expect.stringContaining('step s2 failed: output_invalid') });
    expect(first.partial).toHaveProperty('s1');

    await core.stack.sim.setConfig({}); // the provider is mended
    await publishResume(core.js, { runId, resumeId: 'fix-1', reason: 'provider fixed' });
    const resumed = await eventOf(core.events, runId, 'run.resumed');
    expect(resumed).toMatchObject({ resumeId: 'fix-1', from: 'failed', steps: ['s2', 's3'], reason: 'provider fixed' });
    const second = await nthFinished(core.events, runId, 2);
    expect(second).toMatchObject({ status: 'succeeded', output: expect.any(String) });
    expect(second.costUsd).toBeGreaterThanOrEqual(first.costUsd);

    const counters = await core.stack.sim.counters();
    core.evidence = { counters };
    expect(callsOfStep(counters, runId, 's1')).toEqual({ [`${runId}:s1`]: 1 });
    expect(callsOfStep(counters, runId, 's2')).toEqual({ [`${runId}:s2`]: 1, [`${runId}:s2:a2`]: 1 });
    expect(callsOfStep(counters, runId, 's3')).toEqual({ [`${runId}:s3`]: 1 });
    const dispatched = core.events.events(runId).flatMap((e) => (e.type === 'step.dispatched' ? [`${e.stepId}=${e.attempt}`] : []));
    expect(dispatched).toEqual(['s1=1', 's2=1', 's2=2', 's3=1']);

    // the same resume again changes nothing: no second run.resumed, no new call
    await publishResume(core.js, { runId, resumeId: 'fix-1', reason: 'provider fixed' });
    await publishResume(core.js, { runId, resumeId: 'late', reason: 'a succeeded run is not resumed' });
    await drained(core.nc, consumers.plannerResume);
    expect(core.events.events(runId).filter((e) => e.type === 'run.resumed')).toHaveLength(1);
    const stores = await openKvStores(core.nc);
    const run = await stores.runs.get(runId);
    expect(run?.value).toMatchObject({ status: 'succeeded', resumes: { count: 1, ids: ['fix-1'] } });
  });

  it('(b) a budget-exhausted run resumed with a higher maxUsd spends again and succeeds', async () => {
    const core = stack();
    const runId = 'resume-budget';
    // s2 reserves its 4,000 output tokens ($0.0024 at sim-small's price): more than the run's $0.001
    const steps = chain('resume-b').steps.map((s) => (s.id === 's2' ? { ...s, maxOutputTokens: 4_000 } : s));
    await submitRun(core.js, { ...chain('resume-b'), budget: { maxUsd: 0.001 }, steps }, { topic: 'reefs' }, { runId });
    const first = await nthFinished(core.events, runId, 1);
    expect(first).toMatchObject({ status: 'budget_exhausted', reason: expect.stringContaining('run.maxUsd') });

    await publishResume(core.js, { runId, resumeId: 'more-money', budget: { maxUsd: 0.01 } });
    expect(await eventOf(core.events, runId, 'run.resumed')).toMatchObject({ from: 'budget_exhausted', budget: { maxUsd: 0.01 }, steps: ['s2', 's3'] });
    const second = await nthFinished(core.events, runId, 2);
    expect(second.status).toBe('succeeded');
    expect(second.costUsd).toBeGreaterThan(first.costUsd);
    expect(second.costUsd).toBeLessThanOrEqual(0.01);
    const counters = await core.stack.sim.counters();
    core.evidence = { counters };
    expect(callsOfStep(counters, runId, 's1')).toEqual({ [`${runId}:s1`]: 1 });
    // attempt 1 was denied before any call; attempt 2 made the one call
    expect(callsOfStep(counters, runId, 's2')).toEqual({ [`${runId}:s2:a2`]: 1 });
    // the budget service holds the run to the new limit, with the spending of both lives
    const budget = await runBudget(core.nc, runId);
    expect(budget.limitUsd).toBe(0.01);
    expect(budget.committedUsd).toBeCloseTo(second.costUsd, 8);
  });

  it('(c) a re-run from the last step of a succeeded run calls the model for that step only, with the same result', async () => {
    const core = stack();
    const src = 'rerun-src';
    await submitRun(core.js, chain('rerun-c'), { topic: 'dunes' }, { runId: src });
    const done = await nthFinished(core.events, src, 1);
    expect(done.status).toBe('succeeded');

    await publishRerun(core.js, { runId: 'rerun-new', from: { runId: src, stepId: 's3' } });
    const started = await eventOf(core.events, 'rerun-new', 'run.started');
    expect(started.rerunOf).toEqual({ runId: src, stepId: 's3', reused: ['s1', 's2'] });
    const end = await nthFinished(core.events, 'rerun-new', 1);
    // the simulator answers the same prompt the same way: s3 saw the reused outputs
    expect(end).toMatchObject({ status: 'succeeded', output: done.output });
    const counters = await core.stack.sim.counters();
    core.evidence = { counters };
    expect(['s1', 's2', 's3'].map((s) => callsOfStep(counters, 'rerun-new', s))).toEqual([{}, {}, { 'rerun-new:s3': 1 }]);
    expect(['s1', 's2', 's3'].map((s) => callsOfStep(counters, src, s))).toEqual([{ [`${src}:s1`]: 1 }, { [`${src}:s2`]: 1 }, { [`${src}:s3`]: 1 }]);
    const stores = await openKvStores(core.nc);
    expect((await stores.runs.get('rerun-new'))?.value.steps['s1']).toMatchObject({ status: 'succeeded', reused: true });

    // an unknown step: the new run id is rejected, naming the field
    await publishRerun(core.js, { runId: 'rerun-bad', from: { runId: src, stepId: 'nope' } });
    expect(await eventOf(core.events, 'rerun-bad', 'run.rejected')).toMatchObject({ issues: [{ path: 'from.stepId', message: expect.stringContaining('has no step nope') }] });
    await publishRerun(core.js, { runId: 'rerun-bad2', from: { runId: 'never-ran', stepId: 's1' } });
    expect(await eventOf(core.events, 'rerun-bad2', 'run.rejected')).toMatchObject({ issues: [{ path: 'from.runId' }] });
  });

  it('(e) a reused output stored as a blob of the source run stays readable after retention removed the source', async () => {
    const core = stack();
    const src = 'claim-src';
    // s1 answers 80 KB: above the executor's claim-check threshold, so its result is a blob of claim-src
    await core.stack.sim.setConfig({ scripts: [{ match: { key: `${src}:s1` }, reply: { json: { marker: 'M-4711', filler: 'x'.repeat(80_000) } } }] });
    const pipeline = {
      name: 'claim-rerun',
      defaults: { model: 'sim-small', maxOutputTokens: 64 },
      steps: [
        { id: 's1', prompt: 'Big', maxOutputTokens: 30_000, output: { type: 'object', properties: { marker: { type: 'string' }, filler: { type: 'string' } }, required: ['marker', 'filler'] } },
        { id: 's2', needs: ['s1'], prompt: 'Next' },
        { id: 's3', needs: ['s2'], prompt: 'Marker {{steps.s1.output.marker}} after {{steps.s2.output}}' },
      ],
    };
    await submitRun(core.js, pipeline, {}, { runId: src });
    expect((await nthFinished(core.events, src, 1)).status).toBe('succeeded');
    const stores = await openKvStores(core.nc);
    expect(JSON.stringify((await stores.runs.get(src))?.value.steps['s1']?.output)).toContain(`pw-blob://`);

    // No executor while the re-run starts and its source is removed: s2 cannot finish before the removal.
    const [executor] = core.stack.processes('executor');
    await executor!.stop(10_000);
    await publishRerun(core.js, { runId: 'claim-new', from: { runId: src, stepId: 's2' } });
    expect((await eventOf(core.events, 'claim-new', 'run.started')).rerunOf?.reused).toEqual(['s1']);
    // what the retention sweeper does for a finished run: its blobs, its events, then the run
    await stores.blobs.deleteRun(src);
    await (await jetstreamManager(core.nc)).streams.purge(streams.events.name, { filter: subjects.runEvents(src) });
    await stores.runs.delete(src);
    const copied = (await stores.runs.get('claim-new'))?.value.steps['s1']?.output;
    expect(JSON.stringify(copied)).toContain('pw-blob://');
    expect(JSON.stringify(copied)).toContain('/claim-new/');

    await core.stack.startService('executor');
    const end = await nthFinished(core.events, 'claim-new', 1);
    expect(end.status).toBe('succeeded');
    // s3's prompt was rendered from the copy: the simulator echoes the start of the prompt
    expect(end.output).toContain('Marker M-4711 after');
    const counters = await core.stack.sim.counters();
    core.evidence = { counters, copied };
    expect(callsOfStep(counters, 'claim-new', 's1')).toEqual({});
    expect(callsOfStep(counters, 'claim-new', 's3')).toEqual({ 'claim-new:s3': 1 });
  });
});
