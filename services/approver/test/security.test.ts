import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, Sessions, signWebhook, TokenSet, verifyWebhookSignature } from '@pipewright/kit';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { escapeHtml, html, safeHref } from '../src/inbox/html.js';
import { slackEscape } from '../src/notify/slack-message.js';
import { slackSignature, verifySlackSignature } from '../src/security/signatures.js';
import { loadTokens } from '../src/security/tokens.js';

const A = 'alice-token-0123456789abcdef';
const B = 'bob-token-0123456789abcdefgh';

describe('TokenSet', () => {
  const tokens = TokenSet.parse([`alice:${A}`, `bob:${B}`], 'PW_APPROVER_TOKENS');

  it('names the holder of a presented token, and nobody for anything else', () => {
    expect(tokens.verify(A)?.name).toBe('alice');
    expect(tokens.verify(B)?.name).toBe('bob');
    for (const wrong of ['', A.slice(0, -1), `${A} `, A.toUpperCase(), B + A, 'x'.repeat(10_000)]) expect(tokens.verify(wrong)).toBeUndefined();
  });

  it('refuses bad entries at start-up, naming the variable', () => {
    const problems = (items: string[]) => {
      try {
        TokenSet.parse(items, 'PW_APPROVER_TOKENS');
        return [];
      } catch (err) {
        return err instanceof ConfigError ? err.problems : ['not a ConfigError'];
      }
    };
    expect(problems(['alice:short'])).toEqual(['PW_APPROVER_TOKENS: the token of "alice" is shorter than 16 characters']);
    expect(problems([A])[0]).toMatch(/^PW_APPROVER_TOKENS: entry 1 needs the form name:token/);
    expect(problems([`a b:${A}`])[0]).toMatch(/entry 1/);
    expect(problems([`alice:${A}`, `alice:${B}`])).toEqual(['PW_APPROVER_TOKENS: "alice" appears twice']);
  });

  it('reads a token file (lines, commas, comments) together with the variable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-tokens-'));
    writeFileSync(join(dir, 'tokens'), `# approvers\nbob:${B}\n\ncarol:carol-token-0123456789abcdef, dave:dave-token-0123456789abcdefg\n`);
    const set = loadTokens({ PW_APPROVER_TOKENS: [`alice:${A}`], PW_APPROVER_TOKENS_FILE: join(dir, 'tokens') });
    expect(set.size).toBe(4);
    expect(set.verify('carol-token-0123456789abcdef')?.name).toBe('carol');
    expect(() => loadTokens({ PW_APPROVER_TOKENS_FILE: join(dir, 'missing') })).toThrow(/PW_APPROVER_TOKENS_FILE: cannot read/);
  });
});

describe('Sessions', () => {
  const tokens = TokenSet.parse([`alice:${A}`], 'PW_APPROVER_TOKENS');
  const sessions = new Sessions(tokens, 60_000, undefined);
  const now = 1_900_000_000_000;

  it('round-trips a signed cookie; a tampered, expired or revoked one is no session', () => {
    const { value } = sessions.issue('alice', now);
    expect(sessions.read(value, now + 1_000)?.name).toBe('alice');
    expect(sessions.read(value, now + 60_000)).toBeUndefined();
    const [payload, mac] = value.split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify({ n: 'alice', s: 'x', e: now + 10 ** 9 })).toString('base64url');
    expect(sessions.read(`${forged}.${mac}`, now)).toBeUndefined();
    // one character of the MAC changed (to a different one: a random MAC may already end in "A")
    expect(sessions.read(`${payload}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`, now)).toBeUndefined();
    expect(sessions.read(`${payload}.${mac}.x`, now)).toBeUndefined();
    expect(sessions.read(undefined, now)).toBeUndefined();
    // another token set (a rotated one) derives another key; with the name gone, the session ends too
    const rotated = new Sessions(TokenSet.parse([`alice:${B}`], 'PW_APPROVER_TOKENS'), 60_000, undefined);
    expect(rotated.read(value, now)).toBeUndefined();
    const revoked = new Sessions(TokenSet.parse([`bob:${B}`], 'PW_APPROVER_TOKENS'), 60_000, 's'.repeat(32));
    expect(revoked.read(revoked.issue('alice', now).value, now)).toBeUndefined();
  });

  it('binds the CSRF token to the session', () => {
    const s1 = sessions.issue('alice', now).session;
    const s2 = sessions.issue('alice', now).session;
    expect(sessions.checkCsrf(s1, sessions.csrfToken(s1))).toBe(true);
    expect(sessions.checkCsrf(s1, sessions.csrfToken(s2))).toBe(false);
    expect(sessions.checkCsrf(s1, undefined)).toBe(false);
    expect(sessions.checkCsrf(s1, '')).toBe(false);
  });
});

describe('Slack request signatures', () => {
  const secret = '8f742231b10e8888abcd99yyyzzz85a5';
  const body = 'payload=%7B%22type%22%3A%22block_actions%22%7D';
  const ts = '1531420618';
  const now = Number(ts) * 1000;

  it('matches the documented v0 scheme', () => {
    const expected = `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
    expect(slackSignature(secret, ts, body)).toBe(expected);
    expect(verifySlackSignature({ secret, timestamp: ts, signature: expected, rawBody: body, nowMs: now })).toEqual({ ok: true });
  });

  it('refuses a wrong signature, another body, a missing header, and timestamps outside 5 minutes', () => {
    const sig = slackSignature(secret, ts, body);
    expect(verifySlackSignature({ secret: 'other', timestamp: ts, signature: sig, rawBody: body, nowMs: now }).ok).toBe(false);
    expect(verifySlackSignature({ secret, timestamp: ts, signature: sig, rawBody: `${body}x`, nowMs: now }).ok).toBe(false);
    expect(verifySlackSignature({ secret, timestamp: undefined, signature: sig, rawBody: body, nowMs: now }).ok).toBe(false);
    expect(verifySlackSignature({ secret, timestamp: ts, signature: sig, rawBody: body, nowMs: now + 301_000 })).toEqual({ ok: false, reason: 'timestamp outside the 5-minute window' });
    expect(verifySlackSignature({ secret, timestamp: ts, signature: sig, rawBody: body, nowMs: now - 301_000 }).ok).toBe(false);
    expect(verifySlackSignature({ secret, timestamp: ts, signature: sig, rawBody: body, nowMs: now + 299_000 }).ok).toBe(true);
    expect(verifySlackSignature({ secret, timestamp: '1e9', signature: sig, rawBody: body, nowMs: now }).ok).toBe(false);
  });
});

describe('webhook signatures', () => {
  it('t=<unix>,v1=<hex of HMAC(t.body)>, verifiable by a receiver and bound to body and time', () => {
    const body = '{"event":"approval.requested"}';
    const header = signWebhook('k'.repeat(16), body, 1_900_000_000);
    expect(header).toBe(`t=1900000000,v1=${createHmac('sha256', 'k'.repeat(16)).update(`1900000000.${body}`).digest('hex')}`);
    expect(verifyWebhookSignature('k'.repeat(16), header, body, 1_900_000_000_000).ok).toBe(true);
    expect(verifyWebhookSignature('k'.repeat(16), header, `${body} `, 1_900_000_000_000).ok).toBe(false);
    expect(verifyWebhookSignature('k'.repeat(16), header, body, 1_900_000_400_000).ok).toBe(false);
    expect(verifyWebhookSignature('x'.repeat(16), header, body, 1_900_000_000_000).ok).toBe(false);
  });
});

describe('escaping', () => {
  it('html escapes every interpolated value, but not nested html', () => {
    const evil = `<script>"x"&'y'</script>`;
    expect(html`<p title="${evil}">${evil}${html`<b>${'<i>'}</b>`}</p>`.text).toBe(
      '<p title="&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;">&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;<b>&lt;i&gt;</b></p>',
    );
    expect(escapeHtml('`')).toBe('&#96;');
    expect(html`${[1, '<', null, undefined, false]}`.text).toBe('1&lt;');
  });

  it('only http(s) URLs become links', () => {
    expect(safeHref('javascript:alert(1)')).toBeUndefined();
    expect(safeHref('data:text/html,x')).toBeUndefined();
    expect(safeHref('https://jaeger.example/trace/abc')).toBe('https://jaeger.example/trace/abc');
  });

  it('Slack mrkdwn control characters are escaped', () => {
    expect(slackEscape('<!channel> & <@U1|x>')).toBe('&lt;!channel&gt; &amp; &lt;@U1|x&gt;');
  });
});

describe('config', () => {
  it('defaults, and a bad value names its variable', () => {
    expect(loadConfig({})).toMatchObject({ PW_APPROVER_PORT: 8080, PW_APPROVER_HOST: '0.0.0.0', PW_APPROVER_SWEEP_INTERVAL_MS: 1_000 });
    expect(() => loadConfig({ PW_APPROVER_WEBHOOK_URL: 'https://hooks.example/x' })).toThrow(/PW_APPROVER_WEBHOOK_SECRET: required when PW_APPROVER_WEBHOOK_URL is set/);
    expect(() => loadConfig({ PW_APPROVER_PORT: 'eighty' })).toThrow(/PW_APPROVER_PORT/);
    expect(() => loadConfig({ PW_SLACK_WEBHOOK_URL: 'not a url' })).toThrow(/PW_SLACK_WEBHOOK_URL/);
    expect(loadConfig({ PW_APPROVER_TOKENS: ` alice:${A} , bob:${B}` }).PW_APPROVER_TOKENS).toEqual([`alice:${A}`, `bob:${B}`]);
  });
});
