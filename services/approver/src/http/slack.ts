import { Hono } from 'hono';
import { z } from 'zod';
import type { DecideResult } from '../approvals/service.js';
import { SLACK_ACTIONS } from '../notify/slack-message.js';
import { verifySlackSignature } from '../security/signatures.js';
import type { HttpDeps } from './deps.js';

/** Slack wants an answer within 3 s; we stop waiting for the store well before and answer anyway. */
export const SLACK_ANSWER_BUDGET_MS = 2_000;

const Interaction = z.object({
  type: z.string(),
  user: z.object({ id: z.string().min(1), username: z.string().optional(), name: z.string().optional() }),
  actions: z.array(z.object({ action_id: z.string(), value: z.string().optional() })).default([]),
  response_url: z.url().optional(),
});
type Interaction = z.infer<typeof Interaction>;

/**
 * `POST /slack/interactions`: Slack's interactive endpoint for the Approve / Reject buttons. The
 * signature over the raw body is checked before anything is parsed; a forged or replayed request gets
 * 401 and changes nothing. The decision is recorded, Slack gets its 200, and the message is replaced
 * with the outcome through `response_url` afterwards.
 */
export function slackRoutes(d: HttpDeps): Hono {
  const app = new Hono();
  app.post('/interactions', async (c) => {
    const raw = await c.req.text();
    if (!d.slack) return c.json({ error: 'slack is not configured' }, 401);
    const check = verifySlackSignature({
      secret: d.slack.signingSecret,
      timestamp: c.req.header('x-slack-request-timestamp'),
      signature: c.req.header('x-slack-signature'),
      rawBody: raw,
      nowMs: Date.now(),
    });
    if (!check.ok) {
      d.log.warn({ reason: check.reason }, 'slack interaction refused');
      return c.json({ error: 'unauthorized', message: check.reason }, 401);
    }
    let payload: Interaction;
    try {
      payload = Interaction.parse(JSON.parse(new URLSearchParams(raw).get('payload') ?? ''));
    } catch {
      return c.json({ error: 'invalid_payload' }, 400);
    }
    const action = payload.actions.find((a) => a.action_id === SLACK_ACTIONS.approve || a.action_id === SLACK_ACTIONS.reject);
    // Other interactions (the inbox link button) need no answer beyond the 200.
    if (payload.type !== 'block_actions' || !action?.value) return c.body(null, 200);
    const who = `slack:${payload.user.id}`;
    const label = payload.user.username ?? payload.user.name ?? payload.user.id;
    const respond = payload.response_url;
    if (d.slack.allowedUsers && !d.slack.allowedUsers.includes(payload.user.id)) {
      d.log.warn({ user: who, approvalId: action.value }, 'slack user may not decide');
      if (respond) d.background.run('slack reply', () => d.notifier.slackRespondText(respond, `You (${label}) may not decide approvals; nothing was recorded.`));
      return c.body(null, 200);
    }
    const input = action.action_id === SLACK_ACTIONS.approve ? ({ kind: 'approve' } as const) : ({ kind: 'reject', reason: `rejected in Slack by ${label}` } as const);
    const decision = d.approvals.decide(action.value, input, { name: who, channel: 'slack' });
    const approvalId = action.value;
    // The reply to the person follows the decision, whether or not it beat Slack's 3-second budget.
    d.background.run('slack decision', async () => {
      const r = await decision;
      if (respond) await replyTo(d, respond, approvalId, r);
    });
    await Promise.race([decision.catch(() => undefined), new Promise((res) => setTimeout(res, SLACK_ANSWER_BUDGET_MS).unref())]);
    return c.body(null, 200);
  });
  return app;
}

async function replyTo(d: HttpDeps, responseUrl: string, approvalId: string, r: DecideResult): Promise<void> {
  if (r.kind === 'not_found') await d.notifier.slackRespondText(responseUrl, `There is no approval ${approvalId}.`);
  else if (r.kind === 'invalid') await d.notifier.slackRespondText(responseUrl, `Not recorded: ${r.issues.map((i) => `${i.path} ${i.message}`).join('; ')}`);
  else await d.notifier.slackRespond(responseUrl, r.record, r.kind === 'decided' ? undefined : 'This approval had already been decided; that decision stands.');
}
