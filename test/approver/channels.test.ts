import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApproverHarness, approvalRequest, WEBHOOK_SECRET } from './support/harness.js';
import { webhookSignatureValid } from './support/signatures.js';

const id = (approvalId: string) => `/api/approvals/${encodeURIComponent(approvalId)}`;

interface SlackMessage {
  text: string;
  blocks: { type: string; text?: { text: string }; elements?: { type: string; action_id?: string; value?: string; url?: string }[] }[];
}

/** Notifications: the Slack message with buttons, and the signed generic webhook with bounded retries. */
describe('approver notifications', () => {
  let h: ApproverHarness;

  beforeAll(async () => {
    h = await ApproverHarness.start({ env: { PW_APPROVER_PUBLIC_URL: 'https://approvals.example.com', PW_JAEGER_UI_URL: 'https://jaeger.example.com', PW_APPROVER_WEBHOOK_MAX_ATTEMPTS: '4' } });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const slackFor = (approvalId: string) => h.receiver.on('/slack/main').filter((m) => m.body.includes(approvalId));
  const hooksFor = (approvalId: string, event: string) => h.receiver.on('/hook').filter((m) => m.body.includes(approvalId) && m.headers['x-pipewright-event'] === event);

  it('Slack gets a Block Kit message with Approve / Reject buttons for the approval, with mrkdwn escaped', async () => {
    const req = await h.publishAndWait(approvalRequest({ reasoning: 'Refund now <!channel> & tell <@U1>' }));
    await expect.poll(() => slackFor(req.approvalId).length, { timeout: 5_000 }).toBe(1);
    const msg = JSON.parse(slackFor(req.approvalId)[0]!.body) as SlackMessage;
    expect(msg.text).toContain(`run ${req.runId}`);
    const actions = msg.blocks.find((b) => b.type === 'actions')!;
    expect(actions.elements!.filter((e) => e.value === req.approvalId).map((e) => e.action_id)).toEqual(['pw_approve', 'pw_reject']);
    expect(actions.elements!.find((e) => e.action_id === 'pw_open')?.url).toBe(`https://approvals.example.com/inbox#${encodeURIComponent(req.approvalId)}`);
    const all = JSON.stringify(msg.blocks);
    expect(all).toContain('&lt;!channel&gt; &amp; tell &lt;@U1&gt;');
    expect(all).not.toContain('<!channel>');
    expect(all).toContain(`<https://jaeger.example.com/trace/${req.traceId!}|trace ${req.traceId!}>`);
  });

  it('the generic webhook is signed, retried through 503s with the same delivery id, and the decision follows', async () => {
    const req = approvalRequest();
    h.receiver.failNext('/hook', [503, 503], req.approvalId);
    await h.publishAndWait(req);
    await expect.poll(() => hooksFor(req.approvalId, 'approval.requested').length, { timeout: 10_000 }).toBe(3);
    const deliveries = hooksFor(req.approvalId, 'approval.requested');
    for (const d of deliveries) {
      expect(webhookSignatureValid(WEBHOOK_SECRET, d.headers['x-pipewright-signature'] as string, d.body)).toBe(true);
      expect(d.headers['x-pipewright-delivery']).toBe(`${req.approvalId}:approval.requested`);
    }
    expect(webhookSignatureValid('another-secret-0123456789', deliveries[0]!.headers['x-pipewright-signature'] as string, deliveries[0]!.body)).toBe(false);
    expect(JSON.parse(deliveries[2]!.body)).toMatchObject({ event: 'approval.requested', approvalId: req.approvalId, runId: req.runId, action: req.action, confidence: req.confidence });
    await expect
      .poll(async () => ((await h.api('GET', id(req.approvalId))).json['audit'] as { action: string; detail?: string }[]).find((a) => a.detail?.startsWith('webhook'))?.detail, { timeout: 5_000 })
      .toMatch(/after 3 attempt/);

    expect((await h.api('POST', `${id(req.approvalId)}/approve`, { body: {} })).status).toBe(200);
    await expect.poll(() => hooksFor(req.approvalId, 'approval.decided').length, { timeout: 5_000 }).toBe(1);
    expect(JSON.parse(hooksFor(req.approvalId, 'approval.decided')[0]!.body)).toMatchObject({ decision: { decision: 'approved', by: 'alice' } });
  });

  it('a webhook that answers 400 is not retried, and the failure is in the audit trail; the approval still works', async () => {
    const req = approvalRequest();
    h.receiver.failNext('/hook', [400], req.approvalId);
    await h.publishAndWait(req);
    await expect
      .poll(async () => ((await h.api('GET', id(req.approvalId))).json['audit'] as { action: string; detail?: string }[]).find((a) => a.action === 'notify_failed')?.detail, { timeout: 5_000 })
      .toMatch(/webhook .* after 1 attempt\(s\): POST http:\/\/127\.0\.0\.1:\d+\/…: HTTP 400/);
    await new Promise((r) => setTimeout(r, 500));
    expect(hooksFor(req.approvalId, 'approval.requested')).toHaveLength(1);
    expect((await h.api('POST', `${id(req.approvalId)}/approve`, { body: {} })).status).toBe(200);
    await h.waitForDecision(req.approvalId);
  });

  it('retries stop at the configured attempts', async () => {
    const req = approvalRequest();
    h.receiver.failNext('/hook', [500, 500, 500, 500, 500], req.approvalId);
    await h.publishAndWait(req);
    await expect
      .poll(async () => ((await h.api('GET', id(req.approvalId))).json['audit'] as { action: string; detail?: string }[]).find((a) => a.action === 'notify_failed')?.detail, { timeout: 20_000 })
      .toMatch(/after 4 attempt/);
    expect(hooksFor(req.approvalId, 'approval.requested')).toHaveLength(4);
  });
});
