import { childRunId, msgIds, requestDigest, RunRequest, SCHEMA_VERSION, subjects, type RunEvent } from '@pipewright/contracts';
import { submitRun } from '@pipewright/cli';
import { openKvStores, publishJson } from '@pipewright/kit';
import { waitFor } from '@pipewright/devstack';
import { client } from '../support/run.js';
import { describe, expect, it } from 'vitest';
import { Api } from '../console/support.js';
import { coreStack } from '../core/support.js';
import { nthFinished, type Finished } from './run-control-support.js';

/**
 * `pipeline` steps on the local stack (nats-server, simulator, planner, executor, budget, console as
 * processes): the child runs as a run of its own, its output reaches the parent, the parent's cost
 * includes the child's; a failing or timed-out child fails the parent; a cancelled parent cancels its
 * child and waits for what the child spent.
 */

const child = (model = 'sim-small', extra: Record<string, unknown> = {}) => ({
  name: 'child-summary',
  defaults: { model, maxOutputTokens: 32 },
  input: { type: 'object', properties: { facts: { type: 'string' }, n: { type: 'integer' } }, required: ['facts', 'n'] },
  steps: [{ id: 'summarise', prompt: 'Summarise in {{input.n}} words: {{input.facts}}', retry: { maxAttempts: 1 } }],
  ...extra,
});

/** research → sub (the child) → final. */
const parent = (name: string, childSpec: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  name,
  defaults: { model: 'sim-small', maxOutputTokens: 32 },
  budget: { maxUsd: 1 },
  steps: [
    { id: 'research', prompt: 'Research {{input.topic}}' },
    { id: 'sub', kind: 'pipeline', needs: ['research'], pipeline: childSpec, input: { facts: '{{steps.research.output}}', n: '{{input.words}}' } },
    { id: 'final', needs: ['sub'], prompt: 'Final text from {{steps.sub.output}}' },
  ],
  ...extra,
});

const stepCost = (events: RunEvent[], stepId: string) => events.filter((e) => e.type === 'step.completed' && e.stepId === stepId).reduce((sum, e) => sum + ((e as { costUsd?: number }).costUsd ?? 0), 0);

describe('sub-pipelines (pipeline steps)', () => {
  const faults = { perModel: { 'sim-stuck': { latency: { fixedMs: 120_000 } } } };
  const stack = coreStack('sub-pipeline', { services: ['planner', 'executor', 'budget', 'console'], sim: { faults } });

  it("runs the child as a run of its own: its output reaches the parent, the parent's cost includes the child's, and the traces join", async () => {
    const core = stack();
    const runId = 'sub-ok';
    const childId = childRunId(runId, 'sub', 1);
    await submitRun(core.js, parent('sub-ok', child()), { topic: 'tides', words: 12 }, { runId });
    const end = await nthFinished(core.events, runId, 1);
    expect(end.status).toBe('succeeded');
    const childEnd = core.events.events(childId).find((e): e is Finished => e.type === 'run.finished')!;
    expect(childEnd).toMatchObject({ status: 'succeeded', parent: { runId, stepId: 'sub', attempt: 1 } });
    expect(childEnd.costUsd).toBeGreaterThan(0);

    const stores = await openKvStores(core.nc);
    const p = (await stores.runs.get(runId))!.value;
    const c = (await stores.runs.get(childId))!.value;
    // the input rendered with types kept (n is a number) and the parent's remaining limits
    expect(c.input).toEqual({ facts: p.steps.research!.output, n: 12 });
    expect(c.parent).toEqual({ runId, stepId: 'sub', attempt: 1 });
    expect(c.budget.maxUsd).toBeLessThanOrEqual(1);
    expect(c.pipeline.limits.deadlineMs).toBeLessThanOrEqual(p.pipeline.limits.deadlineMs);
    expect(p.steps.sub).toMatchObject({ status: 'succeeded', output: childEnd.output, costUsd: childEnd.costUsd, child: { runId: childId } });
    // cost roll-up: the parent's own steps plus the child's whole cost
    const own = stepCost(core.events.events(runId), 'research') + stepCost(core.events.events(runId), 'final');
    expect(end.costUsd).toBeCloseTo(own + childEnd.costUsd, 8);
    expect(end.usage.totalTokens).toBe(p.steps.research!.usage!.totalTokens + p.steps.final!.usage!.totalTokens + childEnd.usage.totalTokens);
    // one trace: the child's run span hangs in the parent's trace
    // W3C traceparent: 00-<trace id>-<parent span id>-<flags>
    const traceOf = (tp: string | undefined) => /^00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(tp ?? '')?.[1];
    expect(traceOf(c.traceparent)).toBeDefined();
    expect(traceOf(c.traceparent)).toBe(traceOf(p.traceparent));
    // the console lists the child as a run of its own
    await Api.of(core.stack).until(childId, ['succeeded']);
    const detail = await Api.of(core.stack).get<{ stepList: { id: string; child?: { runId: string } }[] }>(`/runs/${runId}`);
    expect(detail.body.stepList.find((st) => st.id === 'sub')?.child).toEqual({ runId: childId });

    // a client cannot start a run that reports to a parent: `parent` is the planner's to set
    const outsider = await client(core.stack.natsOptions('client'));
    try {
      const forged = RunRequest.parse({ schemaVersion: SCHEMA_VERSION, runId: 'forged-child', pipeline: child(), input: { facts: 'forged', n: 1 }, parent: { runId, stepId: 'sub', attempt: 1 } });
      await publishJson(outsider.js, subjects.runSubmit, forged, { msgId: msgIds.submit('forged-child', requestDigest(forged)) });
    } finally {
      await outsider.close();
    }
    const rejected = await waitFor('run.rejected of forged-child', () => core.events.events('forged-child').find((e) => e.type === 'run.rejected'), { timeoutMs: 30_000, intervalMs: 50 });
    expect(rejected).toMatchObject({ reason: 'not a child run of its parent', issues: [{ path: 'parent' }] });
    expect(rejected).not.toHaveProperty('parent');
  });

  it('a failing child fails the parent, naming the step, the child and how it ended', async () => {
    const core = stack();
    const runId = 'sub-fail';
    // the child's one step has an output schema and one attempt: an answer that breaks it fails the child
    await core.stack.sim.setConfig({ faults, scripts: [{ match: { key: `${childRunId(runId, 'sub', 1)}:summarise` }, fault: 'schema-break' }] });
    const strict = child('sim-small', { steps: [{ id: 'summarise', prompt: 'Summarise {{input.facts}}', output: { type: 'object', properties: { s: { type: 'string' } }, required: ['s'] }, retry: { maxAttempts: 1 } }] });
    await submitRun(core.js, parent('sub-fail', strict), { topic: 'x', words: 5 }, { runId });
    const end = await nthFinished(core.events, runId, 1);
    expect(end.status).toBe('failed');
    expect(end.reason).toMatch(new RegExp(`^sub-pipeline sub \\(run ${childRunId(runId, 'sub', 1)}\\) ended failed: step summarise failed: output_invalid`));
    // the parent's step shows how its child ended
    const stores = await openKvStores(core.nc);
    expect((await stores.runs.get(runId))!.value.steps.sub).toMatchObject({ status: 'failed', error: { code: 'child_failed' } });
  });

  it("a child that outlives its own deadline times out and fails the parent", async () => {
    const core = stack();
    const runId = 'sub-timeout';
    await submitRun(core.js, parent('sub-timeout', child('sim-stuck', { limits: { deadlineMs: 2_000 } })), { topic: 'x', words: 5 }, { runId });
    const end = await nthFinished(core.events, runId, 1);
    expect(end.status).toBe('failed');
    expect(end.reason).toContain(`sub-pipeline sub (run ${childRunId(runId, 'sub', 1)}) ended timed_out: run deadline of 2000 ms passed`);
  });

  it("a cancelled parent cancels its running child and publishes run.finished once the child's spending is in", async () => {
    const core = stack();
    const api = Api.of(core.stack);
    const runId = 'sub-cancel';
    const childId = childRunId(runId, 'sub', 1);
    await submitRun(core.js, parent('sub-cancel', child('sim-stuck')), { topic: 'x', words: 5 }, { runId });
    await api.until(childId, ['running']);
    expect((await api.post(`/runs/${runId}/cancel`, { reason: 'enough' })).status).toBe(202);
    const end = await nthFinished(core.events, runId, 1);
    expect(end.status).toBe('cancelled');
    const childEnd = core.events.events(childId).find((e): e is Finished => e.type === 'run.finished');
    expect(childEnd).toMatchObject({ status: 'cancelled', reason: expect.stringContaining(`the parent run ${runId} ended cancelled: enough`) });
    // the parent's end came after the child's, with the child's spending in it
    const parentDecisions = core.events.events(runId).flatMap((e) => ('decisions' in e && e.decisions ? e.decisions : []));
    expect(parentDecisions.find((d) => d.action === 'settle')?.reason).toContain(`child:${childId}`);
    expect(end.costUsd).toBeCloseTo(stepCost(core.events.events(runId), 'research') + childEnd!.costUsd, 8);
  });
});
