import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApproverHarness, approvalRequest, SLACK_SECRET, TOKENS } from './support/harness.js';
import { csrfIn, InboxClient } from './support/inbox-client.js';
import { slackClick, slackHeaders } from './support/signatures.js';

const id = (approvalId: string) => `/api/approvals/${encodeURIComponent(approvalId)}`;

/**
 * Nothing changes without proof of who asks: API bearer tokens, Slack request signatures (with the
 * 5-minute window against replays), inbox sessions with CSRF and origin checks.
 */
describe('approver authentication', () => {
  let h: ApproverHarness;

  beforeAll(async () => {
    h = await ApproverHarness.start();
  });
  afterAll(async () => {
    await h?.stop();
  });

  /** The approval is still pending, its audit trail is as it was, and no decision was published. */
  async function expectUnchanged(approvalId: string, auditLength: number): Promise<void> {
    await new Promise((r) => setTimeout(r, 300));
    const shown = await h.api('GET', id(approvalId));
    expect(shown.json['approval']).toMatchObject({ status: 'pending' });
    expect(shown.json['audit']).toHaveLength(auditLength);
    expect(h.eventsOf(approvalId)).toHaveLength(0);
  }

  const auditLength = async (approvalId: string) => ((await h.api('GET', id(approvalId))).json['audit'] as unknown[]).length;

  it('API: 401 without a token, with a wrong one, or a malformed header; nothing changes', async () => {
    const req = await h.publishAndWait(approvalRequest());
    await expect.poll(async () => auditLength(req.approvalId), { timeout: 5_000 }).toBeGreaterThanOrEqual(3); // requested + two notifications
    const before = await auditLength(req.approvalId);
    const wrongTokens: (string | null)[] = [null, 'wrong-token-0123456789abcdef', `${TOKENS.alice}x`, TOKENS.alice.slice(0, -1), ''];
    for (const token of wrongTokens) {
      for (const [method, path, body] of [
        ['GET', '/api/approvals?status=pending', undefined],
        ['GET', id(req.approvalId), undefined],
        ['POST', `${id(req.approvalId)}/approve`, {}],
        ['POST', `${id(req.approvalId)}/reject`, { reason: 'x' }],
        ['POST', `${id(req.approvalId)}/edit`, { arguments: { orderId: 'A-1', amountUsd: 1 } }],
      ] as const) {
        const r = await h.api(method, path, { token, body });
        expect(r.status, `${method} ${path} with ${String(token)}`).toBe(401);
        expect(r.json).toEqual({ error: 'unauthorized', message: expect.any(String) });
      }
    }
    const basic = await h.api('POST', `${id(req.approvalId)}/approve`, { token: null, body: {}, headers: { authorization: `Basic ${Buffer.from(`alice:${TOKENS.alice}`).toString('base64')}` } });
    expect(basic.status).toBe(401);
    await expectUnchanged(req.approvalId, before);
  });

  it('Slack: a forged signature, a tampered body, a missing header and a replayed old request are refused (401); nothing changes', async () => {
    const req = await h.publishAndWait(approvalRequest());
    await expect.poll(async () => auditLength(req.approvalId), { timeout: 5_000 }).toBeGreaterThanOrEqual(3);
    const before = await auditLength(req.approvalId);
    const body = slackClick({ actionId: 'pw_approve', approvalId: req.approvalId, userId: 'U0ATTACK', responseUrl: `${h.receiver.url}/slack/response/forged` });
    const post = (b: string, headers: Record<string, string>) => fetch(`${h.apiUrl}/slack/interactions`, { method: 'POST', body: b, headers, signal: AbortSignal.timeout(5_000) });

    expect((await post(body, slackHeaders('not-the-secret', body))).status).toBe(401);
    const other = slackClick({ actionId: 'pw_reject', approvalId: req.approvalId, userId: 'U0ATTACK', responseUrl: `${h.receiver.url}/slack/response/forged` });
    expect((await post(other, slackHeaders(SLACK_SECRET, body))).status).toBe(401); // signature of another body
    const { 'x-slack-signature': _sig, ...noSignature } = slackHeaders(SLACK_SECRET, body);
    expect((await post(body, noSignature)).status).toBe(401);
    // captured six minutes ago: the signature is genuine for that timestamp, and still refused
    const old = Math.floor(Date.now() / 1000) - 6 * 60;
    expect((await post(body, slackHeaders(SLACK_SECRET, body, old))).status).toBe(401);
    expect((await post(body, slackHeaders(SLACK_SECRET, body, old + 12 * 60))).status).toBe(401);

    await expectUnchanged(req.approvalId, before);
    expect(h.receiver.on('/slack/response/forged')).toHaveLength(0);
  });

  it('Slack: a genuine click is answered within 3 s, decides once, and the message is replaced through response_url', async () => {
    const req = await h.publishAndWait(approvalRequest());
    const body = slackClick({ actionId: 'pw_approve', approvalId: req.approvalId, userId: 'U024BE7LH', responseUrl: `${h.receiver.url}/slack/response/1` });
    const t0 = performance.now();
    const res = await fetch(`${h.apiUrl}/slack/interactions`, { method: 'POST', body, headers: slackHeaders(SLACK_SECRET, body), signal: AbortSignal.timeout(3_000) });
    expect(res.status).toBe(200);
    expect(performance.now() - t0).toBeLessThan(3_000);
    expect(await h.waitForDecision(req.approvalId)).toMatchObject({ decision: 'approved', by: 'slack:U024BE7LH', via: 'slack' });
    await expect.poll(() => h.receiver.on('/slack/response/1').length, { timeout: 5_000 }).toBe(1);
    const update = JSON.parse(h.receiver.on('/slack/response/1')[0]!.body) as { replace_original: boolean; text: string };
    expect(update).toMatchObject({ replace_original: true, text: expect.stringContaining('Approved by slack:U024BE7LH') });

    // the same button again (a double click): the first decision stands and is shown again
    const again = slackClick({ actionId: 'pw_reject', approvalId: req.approvalId, userId: 'U999', responseUrl: `${h.receiver.url}/slack/response/2` });
    expect((await fetch(`${h.apiUrl}/slack/interactions`, { method: 'POST', body: again, headers: slackHeaders(SLACK_SECRET, again), signal: AbortSignal.timeout(3_000) })).status).toBe(200);
    await expect.poll(() => h.receiver.on('/slack/response/2').length, { timeout: 5_000 }).toBe(1);
    expect(h.receiver.on('/slack/response/2')[0]!.body).toContain('already been decided');
    expect(h.eventsOf(req.approvalId, 'approval.decided')).toHaveLength(1);
  });

  it('inbox: no session, no CSRF token, a wrong one, a foreign origin, or a bad login change nothing', async () => {
    const req = await h.publishAndWait(approvalRequest());
    await expect.poll(async () => auditLength(req.approvalId), { timeout: 5_000 }).toBeGreaterThanOrEqual(3);
    const before = await auditLength(req.approvalId);
    const action = `/inbox/approvals/${encodeURIComponent(req.approvalId)}/approve`;

    const anonymous = new InboxClient(h.apiUrl);
    expect((await anonymous.post(action, { _csrf: 'x' })).status).toBe(401);
    const loginPage = await anonymous.get('/inbox');
    expect((await anonymous.post('/inbox/login', { token: 'wrong-token-0123456789abcdef', _csrf: csrfIn(loginPage.html) })).status).toBe(401);
    expect(anonymous.cookie('pw_session')).toBeUndefined();
    expect((await anonymous.post('/inbox/login', { token: TOKENS.bob, _csrf: 'not-the-nonce' })).status).toBe(403);
    expect(anonymous.cookie('pw_session')).toBeUndefined();

    const bob = new InboxClient(h.apiUrl);
    const csrf = await bob.login(TOKENS.bob);
    const session = bob.setCookieLines.get('pw_session')!;
    expect(session).toMatch(/HttpOnly/i);
    expect(session).toMatch(/SameSite=Strict/i);
    expect((await bob.post(action, {})).status).toBe(403);
    expect((await bob.post(action, { _csrf: `${csrf.slice(0, -2)}xx` })).status).toBe(403);
    expect((await bob.post(action, { _csrf: csrf }, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await bob.post(action, { _csrf: csrf }, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    // a CSRF token of another session does not carry over
    const carol = new InboxClient(h.apiUrl);
    const carolCsrf = await carol.login(TOKENS.carol);
    expect((await bob.post(action, { _csrf: carolCsrf })).status).toBe(403);
    // a tampered session cookie is no session
    bob.setCookie('pw_session', bob.cookie('pw_session')!.replace(/^./, (c) => (c === 'e' ? 'f' : 'e')));
    expect((await bob.post(action, { _csrf: csrf })).status).toBe(401);
    await expectUnchanged(req.approvalId, before);

    // and the genuine form post works
    const ok = await carol.post(action, { _csrf: carolCsrf });
    expect(ok).toMatchObject({ status: 303, location: expect.stringContaining('/inbox?done=approve') });
    expect(await h.waitForDecision(req.approvalId)).toMatchObject({ decision: 'approved', by: 'carol', via: 'inbox' });
  });

  it('inbox pages escape what models and tools wrote', async () => {
    const req = await h.publishAndWait(
      approvalRequest({ reasoning: '<script>alert(1)</script> & "quotes"', action: { kind: 'tool', tool: 'x"><img src=x onerror=alert(1)>', arguments: { note: '</pre><script>alert(2)</script>' } } }),
    );
    const c = new InboxClient(h.apiUrl);
    await c.login(TOKENS.alice);
    const page = await c.get('/inbox');
    expect(page.html).toContain(req.approvalId);
    expect(page.html).not.toContain('<script>');
    expect(page.html).not.toContain('<img src=x');
    expect(page.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;');
    const res = await fetch(`${h.apiUrl}/inbox`, { headers: { cookie: `pw_session=${c.cookie('pw_session')!}` } });
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
  });
});
