import { openKvStores } from '@pipewright/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trailOf } from '../support/run.js';
import { TOKENS } from './support/harness.js';
import { ApprovalStack, refundPipeline, refundScript } from './support/planner-stack.js';

/**
 * A held tool call through the real services: the simulator (as the model) proposes a refund, the
 * planner holds it and asks the approver, a person decides over the HTTP API, and the planner resumes
 * the run — dispatching the call (as proposed, or as edited) or telling the agent it was rejected.
 */
describe('tool approval gates through planner, executor and approver', () => {
  let s: ApprovalStack;

  beforeAll(async () => {
    s = await ApprovalStack.start();
  });
  afterAll(async () => {
    await s?.stop();
  });

  const refundsOf = (runId: string) => s.refunds.filter((r) => r.key.startsWith(`${runId}:`));

  it('approve: the held call runs once, as proposed, and the run finishes', async () => {
    const runId = 'gate-approve';
    await s.stack.sim.setConfig(refundScript(runId, { orderId: 'A-1001', amountUsd: 120 }));
    const run = await s.submit(refundPipeline('refunds'), { message: 'my parcel arrived broken' }, runId);
    const approvalId = `${runId}:support:1:t1`;
    const request = await s.pending(approvalId);
    expect(request).toMatchObject({
      runId,
      stepId: 'support',
      pipeline: 'refunds',
      action: { kind: 'tool', tool: 'issue-refund', arguments: { orderId: 'A-1001', amountUsd: 120 } },
      argumentsSchema: { required: ['orderId', 'amountUsd'] },
      reason: 'tool issue-refund needs approval (approval.tools)',
      traceId: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    // the run waits, and nothing was sent to the tool
    const stores = await openKvStores(s.c.nc);
    expect((await stores.runs.get(runId))?.value.status).toBe('waiting_approval');
    expect(refundsOf(runId)).toEqual([]);

    expect((await s.api('POST', `/api/approvals/${encodeURIComponent(approvalId)}/approve`, { comment: 'ok' })).status).toBe(200);
    const end = await run.end;
    expect(end).toMatchObject({ type: 'run.finished', status: 'succeeded', output: { reply: 'Refund issued.' } });
    expect(refundsOf(runId)).toEqual([{ key: `${runId}:support:t1`, args: { orderId: 'A-1001', amountUsd: 120 } }]);
    expect(run.events.map((e) => e.type)).toEqual(expect.arrayContaining(['approval.requested', 'approval.decided']));
    const trail = await trailOf(s.c.js, runId);
    expect(trail.map((d) => d.action)).toEqual(expect.arrayContaining(['request-approval', 'approval-approved', 'call-tool']));
    expect(trail.find((d) => d.action === 'approval-approved')?.reason).toBe(`approval ${approvalId} approved by alice via api: ok`);
  });

  it('edit: the tool receives the edited arguments exactly once, under the same idempotency key', async () => {
    const runId = 'gate-edit';
    await s.stack.sim.setConfig(refundScript(runId, { orderId: 'A-2002', amountUsd: 480 }, 'Partial refund issued.'));
    const run = await s.submit(refundPipeline('refunds'), { message: 'refund all of it' }, runId);
    const approvalId = `${runId}:support:1:t1`;
    await s.pending(approvalId);
    // an edit that breaks the tool's schema is refused by the approver, and nothing is decided
    const bad = await s.api('POST', `/api/approvals/${encodeURIComponent(approvalId)}/edit`, { arguments: { orderId: 'A-2002', amountUsd: 900 } }, TOKENS.bob);
    expect(bad.status).toBe(422);
    const edited = { orderId: 'A-2002', amountUsd: 60, note: 'partial refund agreed' };
    expect((await s.api('POST', `/api/approvals/${encodeURIComponent(approvalId)}/edit`, { arguments: edited }, TOKENS.bob)).status).toBe(200);
    // the same edit again (a double click) changes nothing
    expect((await s.api('POST', `/api/approvals/${encodeURIComponent(approvalId)}/edit`, { arguments: edited }, TOKENS.bob)).json['result']).toBe('unchanged');
    const end = await run.end;
    expect(end).toMatchObject({ type: 'run.finished', status: 'succeeded', output: { reply: 'Partial refund issued.' } });
    expect(refundsOf(runId)).toEqual([{ key: `${runId}:support:t1`, args: edited }]);
    // the model's next turn saw the call as it ran, and its result
    const stores = await openKvStores(s.c.nc);
    const history = (await stores.runs.get(runId))?.value.steps['support']?.agent?.history ?? [];
    expect(history.find((m) => m.role === 'assistant')?.toolCalls?.[0]?.arguments).toEqual(edited);
    expect(history.find((m) => m.role === 'tool')?.content).toContain('"amountUsd":60');
  });

  it('reject: the call never runs; the agent is told and answers without it', async () => {
    const runId = 'gate-reject';
    await s.stack.sim.setConfig(refundScript(runId, { orderId: 'A-3003', amountUsd: 250 }, 'I have passed your request to a colleague.'));
    const run = await s.submit(refundPipeline('refunds'), { message: 'refund please' }, runId);
    const approvalId = `${runId}:support:1:t1`;
    await s.pending(approvalId);
    const r = await s.api('POST', `/api/approvals/${encodeURIComponent(approvalId)}/reject`, { reason: 'order already refunded' }, TOKENS.carol);
    expect(r.status).toBe(200);
    const end = await run.end;
    expect(end).toMatchObject({ type: 'run.finished', status: 'succeeded', output: { reply: 'I have passed your request to a colleague.' } });
    expect(refundsOf(runId)).toEqual([]);
    const stores = await openKvStores(s.c.nc);
    const history = (await stores.runs.get(runId))?.value.steps['support']?.agent?.history ?? [];
    expect(history.find((m) => m.role === 'tool')?.content).toMatch(/^error: approval_rejected: .*rejected by carol via api: order already refunded/);
    const decided = run.events.find((e) => e.type === 'approval.decided');
    expect(decided).toMatchObject({ decision: 'rejected', by: 'carol', via: 'api' });
  });
});
