import { describe, expect, it } from 'vitest';
import { contentSecurityPolicy, equalText, escapeHtml, formField, html, safeHref, sameOrigin, Sessions, type RequestLike } from '../src/index.js';

describe('Sessions', () => {
  const names = new Set(['alice']);
  const sessions = new Sessions({ ttlMs: 60_000, keyMaterial: ['approver', Buffer.from('token set A')], stillValid: (s) => names.has(s.name) });
  const now = 1_900_000_000_000;

  it('round-trips a signed cookie; a tampered, expired or revoked one is no session', () => {
    const { value } = sessions.issue('alice', now);
    expect(sessions.read(value, now + 1_000)).toMatchObject({ name: 'alice', expiresAtMs: now + 60_000 });
    expect(sessions.read(value, now + 1_000)?.role).toBeUndefined();
    expect(sessions.read(value, now + 60_000)).toBeUndefined();
    const [payload, mac] = value.split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify({ n: 'alice', s: 'x', e: now + 10 ** 9 })).toString('base64url');
    expect(sessions.read(`${forged}.${mac}`, now)).toBeUndefined();
    // one character of the MAC changed (to a different one: a random MAC may already end in "A")
    expect(sessions.read(`${payload}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`, now)).toBeUndefined();
    expect(sessions.read(`${payload}.${mac}.x`, now)).toBeUndefined();
    expect(sessions.read(undefined, now)).toBeUndefined();
    // other key material (a rotated token set, another service) derives another key
    expect(new Sessions({ ttlMs: 60_000, keyMaterial: ['approver', Buffer.from('token set B')] }).read(value, now)).toBeUndefined();
    expect(new Sessions({ ttlMs: 60_000, keyMaterial: ['console', Buffer.from('token set A')] }).read(value, now)).toBeUndefined();
    // the name lost its token: the session ends with it
    names.delete('alice');
    expect(sessions.read(value, now)).toBeUndefined();
    names.add('alice');
  });

  it('carries a role, signed: a role changed in the cookie is no session', () => {
    const { value } = sessions.issue('alice', now, 'read');
    expect(sessions.read(value, now)).toMatchObject({ name: 'alice', role: 'read' });
    const [, mac] = value.split('.') as [string, string];
    const [payload] = sessions.issue('alice', now, 'operate').value.split('.') as [string];
    expect(sessions.read(`${payload}.${mac}`, now)).toBeUndefined();
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
});

describe('request checks', () => {
  const req = (url: string, headers: Record<string, string>): RequestLike => ({ url, header: (n) => headers[n] });

  it('a form post is ours only from our origin (the public URL behind a proxy)', () => {
    expect(sameOrigin(req('http://127.0.0.1:9/x', { origin: 'http://127.0.0.1:9', 'sec-fetch-site': 'same-origin' }), undefined)).toBe(true);
    expect(sameOrigin(req('http://127.0.0.1:9/x', {}), undefined)).toBe(true);
    expect(sameOrigin(req('http://127.0.0.1:9/x', { origin: 'http://evil.example' }), undefined)).toBe(false);
    expect(sameOrigin(req('http://127.0.0.1:9/x', { 'sec-fetch-site': 'cross-site' }), undefined)).toBe(false);
    expect(sameOrigin(req('http://10.0.0.5:80/x', { origin: 'https://runs.example' }), 'https://runs.example/')).toBe(true);
    expect(sameOrigin(req('http://10.0.0.5:80/x', { origin: 'http://10.0.0.5:80' }), 'https://runs.example/')).toBe(false);
  });

  it('compares in constant time, reads text fields only, and builds a CSP without unsafe-inline', () => {
    expect(equalText('abc', 'abc')).toBe(true);
    expect(equalText('abc', 'abd')).toBe(false);
    expect(equalText('abc', 'abcd')).toBe(false);
    expect(formField({ a: 'x', f: new Blob(['y']) }, 'f')).toBe('');
    expect(formField({ a: 'x' }, 'a')).toBe('x');
    expect(contentSecurityPolicy()).not.toContain('script-src');
    expect(contentSecurityPolicy({ scripts: true })).toContain("script-src 'self'");
    expect(contentSecurityPolicy({ scripts: true })).not.toContain('unsafe');
  });
});
