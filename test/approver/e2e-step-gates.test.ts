import { waitFor } from '@pipewright/devstack';
import { openKvStores } from '@pipewright/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKENS } from './support/harness.js';
import { ApprovalStack } from './support/planner-stack.js';

const graded = { type: 'object', properties: { text: { type: 'string' }, confidence: { type: 'number' } }, required: ['text', 'confidence'] };

/** A two-step pipeline whose first step's output waits for a person before the second may use it. */
function gatedPipeline(approval: Record<string, unknown>) {
  return {
    name: 'press-release',
    defaults: { model: 'sim-small' },
    steps: [
      { id: 'draft', prompt: 'Draft a press release', output: graded, approval },
      { id: 'publish', needs: ['draft'], prompt: 'Publish: {{steps.draft.output.text}}' },
    ],
  };
}

/**
 * Output gates through the real services: the step runs, its output waits in the approver, and the
 * DAG moves on only when a person approves; a rejection ends the run naming who rejected it.
 */
describe('step approval gates through planner, executor and approver', () => {
  let s: ApprovalStack;

  beforeAll(async () => {
    s = await ApprovalStack.start();
  });
  afterAll(async () => {
    await s?.stop();
  });

  const draftScript = (runId: string, confidence: number) => ({ scripts: [{ match: { key: `${runId}:draft` }, reply: { json: { text: 'We launch today.', confidence } } }] });

  it('approve: the output is accepted and the next step runs with it', async () => {
    const runId = 'step-approve';
    await s.stack.sim.setConfig(draftScript(runId, 0.9));
    const run = await s.submit(gatedPipeline({ always: true }), {}, runId);
    const request = await s.pending(`${runId}:draft:1`);
    expect(request).toMatchObject({ action: { kind: 'step', arguments: { text: 'We launch today.', confidence: 0.9 } }, reason: 'step draft always needs approval (approval.always)', confidence: 0.9, onTimeout: 'reject' });
    expect(request['timeoutMs']).toBeUndefined(); // no timeout: it waits for ever
    // the step ran, but the next one is not dispatched while the output waits
    expect(run.events.some((e) => e.type === 'step.dispatched' && e.stepId === 'publish')).toBe(false);
    const stores = await openKvStores(s.c.nc);
    expect((await stores.runs.get(runId))?.value).toMatchObject({ status: 'waiting_approval', steps: { draft: { status: 'dispatched', approval: { approvalId: `${runId}:draft:1` } } } });

    expect((await s.api('POST', `/api/approvals/${encodeURIComponent(`${runId}:draft:1`)}/approve`, {})).status).toBe(200);
    const end = await run.end;
    expect(end).toMatchObject({ type: 'run.finished', status: 'succeeded' });
    const counters = await s.stack.sim.counters();
    expect(counters.byKey[`${runId}:draft`]?.calls).toBe(1); // the step ran once; approval did not re-run it
    expect(counters.byKey[`${runId}:publish`]?.calls).toBe(1);
    const types = run.events.map((e) => ('stepId' in e ? `${e.type}:${e.stepId}` : e.type));
    expect(types.indexOf('approval.decided:draft')).toBeGreaterThanOrEqual(0);
    expect(types.indexOf('step.dispatched:publish')).toBeGreaterThan(types.indexOf('approval.decided:draft'));
  });

  it('reject: the run fails, naming the approval and who rejected it', async () => {
    const runId = 'step-reject';
    await s.stack.sim.setConfig(draftScript(runId, 0.9));
    const run = await s.submit(gatedPipeline({ always: true }), {}, runId);
    await s.pending(`${runId}:draft:1`);
    await s.api('POST', `/api/approvals/${encodeURIComponent(`${runId}:draft:1`)}/reject`, { reason: 'not before the embargo' }, TOKENS.bob);
    const end = await run.end;
    expect(end).toMatchObject({ type: 'run.finished', status: 'failed', reason: `step draft: approval ${runId}:draft:1 rejected by bob via api: not before the embargo` });
    expect((await s.stack.sim.counters()).byKey[`${runId}:publish`]).toBeUndefined();
  });

  it('confidence: only an output below the threshold waits', async () => {
    const sure = 'step-confident';
    await s.stack.sim.setConfig(draftScript(sure, 0.95));
    const confident = await s.submit(gatedPipeline({ confidenceBelow: 0.7 }), {}, sure);
    expect(await confident.end).toMatchObject({ status: 'succeeded' });
    expect(confident.events.some((e) => e.type === 'approval.requested')).toBe(false);

    const unsure = 'step-unsure';
    await s.stack.sim.setConfig(draftScript(unsure, 0.4));
    const run = await s.submit(gatedPipeline({ confidenceBelow: 0.7 }), {}, unsure);
    expect(await s.pending(`${unsure}:draft:1`)).toMatchObject({ confidence: 0.4, reason: 'confidence 0.4 < 0.7 (approval.confidenceBelow)' });
    await s.api('POST', `/api/approvals/${encodeURIComponent(`${unsure}:draft:1`)}/approve`, {});
    expect(await run.end).toMatchObject({ status: 'succeeded' });
  });

  it('a decision for a run that was cancelled meanwhile runs nothing: it is kept for a resume, with the reason logged', async () => {
    const runId = 'step-cancelled';
    await s.stack.sim.setConfig(draftScript(runId, 0.9));
    const run = await s.submit(gatedPipeline({ always: true }), {}, runId);
    await s.pending(`${runId}:draft:1`);
    await s.c.js.publish('pw.runs.cancel', JSON.stringify({ schemaVersion: 1, runId, reason: 'campaign cancelled' }));
    expect(await run.end).toMatchObject({ status: 'cancelled' });
    await s.api('POST', `/api/approvals/${encodeURIComponent(`${runId}:draft:1`)}/approve`, {});
    const ignored = await waitFor('the planner to log the kept decision', () => s.plannerLog().find((l) => l['msg'] === 'approval decision kept for a resume' && l['runId'] === runId), { timeoutMs: 10_000, intervalMs: 50 });
    expect(ignored).toMatchObject({ approvalId: `${runId}:draft:1`, decision: 'approved', by: 'alice', reason: 'run already cancelled' });
    const stores = await openKvStores(s.c.nc);
    expect((await stores.runs.get(runId))?.value.status).toBe('cancelled');
    expect((await s.stack.sim.counters()).byKey[`${runId}:publish`]).toBeUndefined();
  });
});
