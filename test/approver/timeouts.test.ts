import { ApprovalEscalated } from '@pipewright/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApproverHarness, approvalRequest, WEBHOOK_SECRET } from './support/harness.js';
import { webhookSignatureValid } from './support/signatures.js';

const id = (approvalId: string) => `/api/approvals/${encodeURIComponent(approvalId)}`;

/**
 * The durable timer: deadlines are stored with the approval and enforced by the sweeper of every
 * replica (two run here), with `onTimeout` applied exactly once.
 */
describe('approval timeouts', () => {
  let h: ApproverHarness;

  beforeAll(async () => {
    h = await ApproverHarness.start();
    await h.startApprover(); // a second replica sweeping the same store
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('onTimeout reject: rejected by `timeout` after the deadline, not before', async () => {
    const req = await h.publishAndWait(approvalRequest({ timeoutMs: 800, onTimeout: 'reject' }));
    const started = Date.parse(req.requestedAt);
    const event = await h.waitForDecision(req.approvalId);
    expect(Date.parse(event['at'] as string) - started).toBeGreaterThanOrEqual(800);
    expect(event).toMatchObject({ decision: 'rejected', by: 'timeout', via: 'timeout', reason: expect.stringContaining('no decision within 800 ms') });
    await new Promise((r) => setTimeout(r, 300));
    expect(h.eventsOf(req.approvalId, 'approval.decided')).toHaveLength(1);
  });

  it('onTimeout approve: approved by policy', async () => {
    const req = await h.publishAndWait(approvalRequest({ timeoutMs: 500, onTimeout: 'approve' }));
    const event = await h.waitForDecision(req.approvalId);
    expect(event).toMatchObject({ decision: 'approved', by: 'timeout' });
    expect(event['arguments']).toBeUndefined();
  });

  it('a person deciding before the deadline wins; the deadline then does nothing', async () => {
    const req = await h.publishAndWait(approvalRequest({ timeoutMs: 700, onTimeout: 'reject' }));
    expect((await h.api('POST', `${id(req.approvalId)}/approve`, { body: {} })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1_200));
    const events = h.eventsOf(req.approvalId, 'approval.decided');
    expect(events).toHaveLength(1);
    expect(events[0]!.body).toMatchObject({ decision: 'approved', by: 'alice' });
  });

  it('no timeout: the approval waits', async () => {
    const req = await h.publishAndWait(approvalRequest());
    await new Promise((r) => setTimeout(r, 1_000)); // ten sweeps of each replica
    expect(h.eventsOf(req.approvalId)).toHaveLength(0);
    expect((await h.api('GET', id(req.approvalId))).json['approval']).toMatchObject({ status: 'pending' });
  });

  it('escalate: re-notifies the escalation channel and group once, records it, accepts a decision, and rejects at the second timeout', async () => {
    const req = await h.publishAndWait(approvalRequest({ timeoutMs: 600, onTimeout: 'escalate', escalation: { to: 'finance-leads', timeoutMs: 900 } }));
    const escalated = await waitForEvent(h, req.approvalId, 'approval.escalated');
    expect(ApprovalEscalated.parse(escalated)).toMatchObject({ to: 'finance-leads' });

    // the escalation channel (another Slack webhook) and the generic webhook with the group
    await expect.poll(() => h.receiver.on('/slack/escalation').filter((m) => m.body.includes(req.approvalId)).length, { timeout: 5_000 }).toBe(1);
    const slack = JSON.parse(h.receiver.on('/slack/escalation').find((m) => m.body.includes(req.approvalId))!.body) as { blocks: { type: string; text?: { text: string } }[] };
    expect(slack.blocks[0]?.text?.text).toBe('Escalated to finance-leads: approval needed');
    await expect.poll(() => hooks(h, req.approvalId, 'approval.escalated').length, { timeout: 5_000 }).toBe(1);
    const hook = hooks(h, req.approvalId, 'approval.escalated')[0]!;
    expect(webhookSignatureValid(WEBHOOK_SECRET, hook.headers['x-pipewright-signature'] as string, hook.body)).toBe(true);
    expect(JSON.parse(hook.body)).toMatchObject({ event: 'approval.escalated', escalatedTo: 'finance-leads' });

    const shown = await h.api('GET', id(req.approvalId));
    expect(shown.json['approval']).toMatchObject({ status: 'pending', escalation: { to: 'finance-leads' } });
    expect((shown.json['audit'] as { action: string }[]).map((a) => a.action)).toContain('escalated');

    // nobody answers the escalation either: rejected at the second deadline
    const event = await h.waitForDecision(req.approvalId, 5_000);
    expect(event).toMatchObject({ decision: 'rejected', by: 'timeout', reason: expect.stringContaining('after escalation to finance-leads') });
    expect(Date.parse(event['at'] as string) - Date.parse(escalated['at'] as string)).toBeGreaterThanOrEqual(900);
    expect(h.eventsOf(req.approvalId, 'approval.escalated')).toHaveLength(1);
  });

  it('escalate: a decision after the escalation is accepted', async () => {
    const req = await h.publishAndWait(approvalRequest({ timeoutMs: 400, onTimeout: 'escalate', escalation: { to: 'on-call', timeoutMs: 30_000 } }));
    await waitForEvent(h, req.approvalId, 'approval.escalated');
    const r = await h.api('POST', `${id(req.approvalId)}/reject`, { body: { reason: 'duplicate order' } });
    expect(r.status).toBe(200);
    expect(await h.waitForDecision(req.approvalId)).toMatchObject({ decision: 'rejected', by: 'alice', reason: 'duplicate order' });
  });
});

function waitForEvent(h: ApproverHarness, approvalId: string, type: string): Promise<Record<string, unknown>> {
  return expect
    .poll(() => h.eventsOf(approvalId, type)[0]?.body, { timeout: 5_000, interval: 20 })
    .toBeDefined()
    .then(() => h.eventsOf(approvalId, type)[0]!.body);
}

function hooks(h: ApproverHarness, approvalId: string, event: string) {
  return h.receiver.on('/hook').filter((m) => m.headers['x-pipewright-event'] === event && m.body.includes(approvalId));
}
