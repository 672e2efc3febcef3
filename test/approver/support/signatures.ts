import { createHmac } from 'node:crypto';

/**
 * The documented wire formats, written out here independently of the approver's code, so the tests
 * check what a receiver or Slack actually computes.
 */

/** What a generic-webhook receiver does with `X-Pipewright-Signature: t=<unix>,v1=<hex>`. */
export function webhookSignatureValid(secret: string, header: string | undefined, body: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return false;
  const expected = createHmac('sha256', secret).update(`${m[1]}.${body}`).digest('hex');
  return expected === m[2] && Math.abs(Date.now() / 1000 - Number(m[1])) < 300;
}

/** Headers Slack sends with an interaction: `v0=` HMAC-SHA256 of `v0:{timestamp}:{body}`. */
export function slackHeaders(secret: string, body: string, timestampS = Math.floor(Date.now() / 1000)): Record<string, string> {
  const sig = `v0=${createHmac('sha256', secret).update(`v0:${timestampS}:${body}`).digest('hex')}`;
  return { 'x-slack-request-timestamp': String(timestampS), 'x-slack-signature': sig, 'content-type': 'application/x-www-form-urlencoded' };
}

/** The form body of a Slack `block_actions` interaction for one button. */
export function slackClick(o: { actionId: string; approvalId: string; userId: string; responseUrl: string }): string {
  const payload = {
    type: 'block_actions',
    user: { id: o.userId, username: o.userId.toLowerCase(), name: o.userId.toLowerCase() },
    actions: [{ action_id: o.actionId, block_id: 'pw_decision', value: o.approvalId, type: 'button', action_ts: String(Date.now() / 1000) }],
    response_url: o.responseUrl,
    trigger_id: '1.2.3',
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}
