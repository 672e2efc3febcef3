import { renderEvent } from '@pipewright/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApprovalStack, refundPipeline, refundScript } from './support/planner-stack.js';

/**
 * Nobody decides: the approver's durable timers apply the policy's `onTimeout` (reject, approve, or
 * escalate and then reject), and the planner resumes the run from that decision like from a person's.
 */
describe('approval timeouts through planner, executor and approver', () => {
  let s: ApprovalStack;

  beforeAll(async () => {
    s = await ApprovalStack.start();
  });
  afterAll(async () => {
    await s?.stop();
  });

  const stepGate = (approval: Record<string, unknown>) => ({
    name: 'timed',
    defaults: { model: 'sim-small' },
    steps: [
      { id: 'draft', prompt: 'Draft', approval: { always: true, ...approval } },
      { id: 'publish', needs: ['draft'], prompt: 'Publish {{steps.draft.output}}' },
    ],
  });

  it('onTimeout reject: the step gate is rejected by the timeout and the run fails', async () => {
    const run = await s.submit(stepGate({ timeoutMs: 300, onTimeout: 'reject' }), {}, 'timeout-reject');
    const end = await run.end;
    expect(end).toMatchObject({ type: 'run.finished', status: 'failed', reason: 'step draft: approval timeout-reject:draft:1 rejected by timeout via timeout: no decision within 300 ms; rejected by policy' });
    const requested = run.events.find((e) => e.type === 'approval.requested');
    const decided = run.events.find((e) => e.type === 'approval.decided');
    expect(Date.parse(decided!.at) - Date.parse(requested!.at)).toBeGreaterThanOrEqual(300);
  });

  it('onTimeout approve: the held tool call runs once when the time is up', async () => {
    const runId = 'timeout-approve';
    await s.stack.sim.setConfig(refundScript(runId, { orderId: 'A-4004', amountUsd: 20 }));
    const run = await s.submit(refundPipeline('refunds', { timeoutMs: 300, onTimeout: 'approve' }), { message: 'small refund' }, runId);
    expect(await run.end).toMatchObject({ type: 'run.finished', status: 'succeeded', output: { reply: 'Refund issued.' } });
    expect(s.refunds.filter((r) => r.key.startsWith(`${runId}:`))).toEqual([{ key: `${runId}:support:t1`, args: { orderId: 'A-4004', amountUsd: 20 } }]);
    expect(run.events.find((e) => e.type === 'approval.decided')).toMatchObject({ decision: 'approved', by: 'timeout', via: 'timeout' });
  });

  it('onTimeout escalate: handed to the escalation group, then rejected at the second timeout', async () => {
    const runId = 'timeout-escalate';
    await s.stack.sim.setConfig(refundScript(runId, { orderId: 'A-5005', amountUsd: 300 }, 'A colleague will contact you.'));
    const approval = { timeoutMs: 300, onTimeout: 'escalate', escalation: { to: 'finance-leads', timeoutMs: 400 } };
    const run = await s.submit(refundPipeline('refunds', approval), { message: 'big refund' }, runId);
    const end = await run.end;
    // the rejection went back to the agent, which answered without refunding
    expect(end).toMatchObject({ type: 'run.finished', status: 'succeeded', output: { reply: 'A colleague will contact you.' } });
    expect(s.refunds.filter((r) => r.key.startsWith(`${runId}:`))).toEqual([]);
    // by when each happened: the planner publishes the request and its `approval.requested` event at once
    const seq = run.events.filter((e) => e.type.startsWith('approval.')).sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
    expect(seq.map((e) => e.type)).toEqual(['approval.requested', 'approval.escalated', 'approval.decided']);
    const [requested, escalated, decided] = seq;
    expect(escalated).toMatchObject({ to: 'finance-leads', approvalId: `${runId}:support:1:t1` });
    expect(decided).toMatchObject({ decision: 'rejected', by: 'timeout', via: 'timeout' });
    expect(Date.parse(escalated!.at) - Date.parse(requested!.at)).toBeGreaterThanOrEqual(300);
    expect(Date.parse(decided!.at) - Date.parse(escalated!.at)).toBeGreaterThanOrEqual(400);
    // `pipewright watch` shows each step of it
    expect(renderEvent(escalated!)).toContain('ESCALATED    approval timeout-escalate:support:1:t1 to finance-leads');
    expect(renderEvent(requested!)).toContain('WAITING      approval timeout-escalate:support:1:t1 of tool issue-refund');
  });
});
