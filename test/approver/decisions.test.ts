import { ApprovalDecision } from '@pipewright/contracts';
import { waitFor } from '@pipewright/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApproverHarness, approvalRequest, TOKENS } from './support/harness.js';

const id = (approvalId: string) => `/api/approvals/${encodeURIComponent(approvalId)}`;

/**
 * Decisions through the approver service with a real nats-server, on both stores: requests are
 * published as the planner publishes them, and the `approval.decided` events are what the planner
 * would consume.
 */
describe.each(['kv', 'mongo'] as const)('approver decisions (%s store)', (store) => {
  const mongoMissing = store === 'mongo' && !ApproverHarness.mongoAvailable();
  if (mongoMissing) console.warn('skipping the MongoDB variant: no ferretdb binary (see packages/devstack README to build it)');
  let h: ApproverHarness;

  beforeAll(async () => {
    if (!mongoMissing) h = await ApproverHarness.start({ store });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it.skipIf(mongoMissing)('approve: one approval.decided event, valid against the contract, with who and how', async () => {
    const req = await h.publishAndWait(approvalRequest());
    // the pending index may trail the record by a moment on a loaded machine: wait for it (bounded)
    const pendingIds = async () => ((await h.api('GET', '/api/approvals?status=pending')).json['approvals'] as { approvalId: string }[]).map((a) => a.approvalId);
    await waitFor('the request in the pending list', async () => ((await pendingIds()).includes(req.approvalId) ? true : undefined), { timeoutMs: 5_000 });
    expect(await pendingIds()).toContain(req.approvalId);

    const r = await h.api('POST', `${id(req.approvalId)}/approve`, { body: { comment: 'looks right' } });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ result: 'decided', approval: { status: 'decided', decision: { decision: 'approved', by: 'alice', via: 'api' } } });
    const event = await h.waitForDecision(req.approvalId);
    expect(ApprovalDecision.parse(event)).toMatchObject({ decision: 'approved', runId: req.runId, stepId: req.stepId, by: 'alice', reason: 'looks right' });
    const seen = h.eventsOf(req.approvalId, 'approval.decided');
    expect(seen[0]?.subject).toBe(`pw.events.${req.runId}.approval.decided`);
    expect(seen[0]?.msgId).toBe(`${req.approvalId}:decided`);

    const shown = await h.api('GET', id(req.approvalId));
    const audit = shown.json['audit'] as { action: string; actor: string }[];
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['requested', 'approved']));
    expect(audit.find((a) => a.action === 'approved')?.actor).toBe('alice');
  });

  it.skipIf(mongoMissing)('reject needs a reason and carries it to the planner', async () => {
    const req = await h.publishAndWait(approvalRequest());
    const noReason = await h.api('POST', `${id(req.approvalId)}/reject`, { body: { reason: '  ' } });
    expect(noReason.status).toBe(422);
    expect(noReason.json['issues']).toEqual([expect.objectContaining({ path: 'reason' })]);

    const r = await h.api('POST', `${id(req.approvalId)}/reject`, { token: TOKENS.bob, body: { reason: 'refund exceeds the order value' } });
    expect(r.status).toBe(200);
    const event = await h.waitForDecision(req.approvalId);
    expect(event).toMatchObject({ decision: 'rejected', by: 'bob', reason: 'refund exceeds the order value' });
  });

  it.skipIf(mongoMissing)('edit: arguments are validated against the tool schema with field-named errors, then approved with the edit', async () => {
    const req = await h.publishAndWait(approvalRequest());
    const bad = await h.api('POST', `${id(req.approvalId)}/edit`, { body: { arguments: { orderId: 'nope', amountUsd: 900, extra: true } } });
    expect(bad.status).toBe(422);
    const paths = (bad.json['issues'] as { path: string }[]).map((i) => i.path).sort();
    expect(paths).toEqual(['arguments.amountUsd', 'arguments.extra', 'arguments.orderId']);
    expect((await h.api('GET', id(req.approvalId))).json['approval']).toMatchObject({ status: 'pending' });

    const edited = { orderId: 'A-1001', amountUsd: 60, note: 'half refund agreed by phone' };
    const r = await h.api('POST', `${id(req.approvalId)}/edit`, { body: { arguments: edited } });
    expect(r.status).toBe(200);
    const event = await h.waitForDecision(req.approvalId);
    expect(event).toMatchObject({ decision: 'edited', arguments: edited });
    const audit = (await h.api('GET', id(req.approvalId))).json['audit'] as { action: string; before?: unknown; after?: unknown }[];
    expect(audit.find((a) => a.action === 'edited')).toMatchObject({ before: req.action.arguments, after: edited });
  });

  it.skipIf(mongoMissing)('a repeated click is harmless: answered with the existing decision, published once', async () => {
    const req = await h.publishAndWait(approvalRequest());
    expect((await h.api('POST', `${id(req.approvalId)}/approve`, { body: {} })).status).toBe(200);
    const again = await h.api('POST', `${id(req.approvalId)}/approve`, { body: {} });
    expect(again).toMatchObject({ status: 200, json: { result: 'unchanged', approval: { decision: { by: 'alice' } } } });
    const other = await h.api('POST', `${id(req.approvalId)}/reject`, { token: TOKENS.carol, body: { reason: 'too late' } });
    expect(other).toMatchObject({ status: 409, json: { error: 'already_decided', approval: { decision: { decision: 'approved' } } } });
    await h.waitForDecision(req.approvalId);
    // a later event would have arrived by now: the consumer sees events within milliseconds
    await new Promise((r) => setTimeout(r, 300));
    expect(h.eventsOf(req.approvalId, 'approval.decided')).toHaveLength(1);
    const audit = (await h.api('GET', id(req.approvalId))).json['audit'] as { action: string; actor: string }[];
    expect(audit.filter((a) => a.action === 'repeated').map((a) => a.actor).sort()).toEqual(['alice', 'carol']);
  });

  it.skipIf(mongoMissing)('first decision wins under concurrent clicks from two replicas', async () => {
    const second = await h.startApprover();
    const req = await h.publishAndWait(approvalRequest());
    const clicks = Array.from({ length: 24 }, (_, i) => {
      const base = i % 2 === 0 ? h.apiUrl : second;
      const token = [TOKENS.alice, TOKENS.bob, TOKENS.carol][i % 3]!;
      return i % 4 === 3 ? h.api('POST', `${id(req.approvalId)}/reject`, { base, token, body: { reason: `click ${i}` } }) : h.api('POST', `${id(req.approvalId)}/approve`, { base, token, body: {} });
    });
    const answers = await Promise.all(clicks);
    const decided = answers.filter((a) => a.json['result'] === 'decided');
    expect(decided).toHaveLength(1);
    expect(answers.every((a) => a.status === 200 || a.status === 409)).toBe(true);
    const winner = (decided[0]!.json['approval'] as { decision: ApprovalDecision }).decision;
    await h.waitForDecision(req.approvalId);
    await new Promise((r) => setTimeout(r, 300));
    const events = h.eventsOf(req.approvalId, 'approval.decided');
    expect(events).toHaveLength(1);
    expect(events[0]!.body).toMatchObject({ decision: winner.decision, by: winner.by });
    const audit = (await h.api('GET', id(req.approvalId))).json['audit'] as { action: string }[];
    expect(audit.filter((a) => ['approved', 'rejected', 'edited'].includes(a.action))).toHaveLength(1);
    expect(audit.filter((a) => a.action === 'repeated')).toHaveLength(23);
  });

  it.skipIf(mongoMissing)('a redelivered request is the same approval: stored once, notified once', async () => {
    const req = await h.publishAndWait(approvalRequest());
    // the planner publishing again after a crash, past JetStream's dedupe (a different msg id)
    await h.js.publish('pw.approvals.request', JSON.stringify(req), { msgID: `${req.approvalId}:again` });
    await new Promise((r) => setTimeout(r, 500));
    const slack = h.receiver.on('/slack/main').filter((m) => m.body.includes(req.approvalId));
    expect(slack).toHaveLength(1);
    const audit = (await h.api('GET', id(req.approvalId))).json['audit'] as { action: string }[];
    expect(audit.filter((a) => a.action === 'requested')).toHaveLength(1);
  });

  it.skipIf(mongoMissing)('unknown approvals are 404 and a malformed request goes to the DLQ without stopping the service', async () => {
    expect((await h.api('POST', `${id('no:such:1')}/approve`, { body: {} })).status).toBe(404);
    const dlq = await h.js.streams.get('PW_DLQ');
    const before = (await dlq.info()).state.messages;
    await h.js.publish('pw.approvals.request', JSON.stringify({ schemaVersion: 1, approvalId: 'x', runId: 'r' }));
    await expect.poll(async () => (await dlq.info()).state.messages, { timeout: 10_000 }).toBe(before + 1);
    const req = await h.publishAndWait(approvalRequest());
    expect((await h.api('POST', `${id(req.approvalId)}/approve`, { body: {} })).status).toBe(200);
  });
});
