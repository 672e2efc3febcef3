import { beforeEach, describe, expect, it } from 'vitest';
import { dashboardRoutes } from '../src/dashboard/routes.js';
import { DashboardClient, hidden, ORIGIN } from './support/dashboard-client.js';
import { MemoryConsole, operateAndRead, runDetail, TOKENS } from './support/dashboard-ports.js';

const EVIL = `<script>alert("x")</script>`;

describe('dashboard: sign-in and sessions', () => {
  let ports: MemoryConsole;
  let client: DashboardClient;
  beforeEach(() => {
    ports = new MemoryConsole();
    client = new DashboardClient(dashboardRoutes(ports, { sessionTtlMs: 3_600_000 }));
  });

  it('every page needs a session: without one, the sign-in form, coming back afterwards', async () => {
    for (const path of ['/runs', '/batch?label=a%3Db', '/runs/r1', '/runs/r1/confirm/resume']) {
      const res = await client.get(path);
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe(`/login?next=${encodeURIComponent(path)}`);
    }
    expect((await client.get('/runs/live')).status).toBe(401);
    expect((await client.get('/runs/r1/live')).status).toBe(401);
    const login = await client.get('/login?next=%2Fbatch%3Flabel%3Da%253Db');
    expect(login.status).toBe(200);
    expect(hidden(await login.text(), 'next')).toBe('/batch?label=a%3Db');
  });

  it('a valid token becomes a signed HttpOnly SameSite=Strict cookie with an expiry; a wrong one does not', async () => {
    const wrong = await client.signIn('not-a-token-at-all-0123456789');
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('That token is not valid.');
    const ok = await client.signIn(TOKENS.olivia);
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/runs');
    const cookie = ok.headers.getSetCookie().find((c) => c.startsWith('pw_console_session='))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Max-Age=3600/);
    expect(cookie).toMatch(/Path=\//);
    expect(cookie).not.toMatch(/Secure/);
    const page = await (await client.get('/runs')).text();
    expect(page).toContain('Signed in as <strong>olivia</strong>');
    expect(page).toContain('role-operate');
  });

  it('over https (behind a proxy that says so) the cookie is Secure', async () => {
    const form = await (await client.get('/login')).text();
    const res = await client.post('/login', { _csrf: hidden(form, '_csrf'), token: TOKENS.rita }, { 'x-forwarded-proto': 'https' });
    expect(res.headers.getSetCookie().find((c) => c.startsWith('pw_console_session='))).toMatch(/Secure/);
  });

  it('the sign-in form needs its nonce and our origin; `next` never leaves the site', async () => {
    expect((await client.post('/login', { _csrf: 'forged', token: TOKENS.olivia })).status).toBe(403);
    const form = await (await client.get('/login')).text();
    expect((await client.post('/login', { _csrf: hidden(form, '_csrf'), token: TOKENS.olivia }, { origin: 'https://evil.example' })).status).toBe(403);
    for (const next of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)', '/login']) {
      const fresh = new DashboardClient(dashboardRoutes(ports, { sessionTtlMs: 60_000 }));
      const f = await (await fresh.get('/login')).text();
      const res = await fresh.post('/login', { _csrf: hidden(f, '_csrf'), token: TOKENS.olivia, next });
      expect(res.headers.get('location'), next).toBe('/runs');
    }
  });

  it('sign-out needs the CSRF token and ends the session', async () => {
    await client.signIn(TOKENS.rita);
    expect((await client.post('/logout', { _csrf: 'nope' })).status).toBe(403);
    expect((await client.get('/runs')).status).toBe(200);
    const res = await client.post('/logout', { _csrf: await client.csrf() });
    expect(res.status).toBe(303);
    expect((await client.get('/runs')).status).toBe(303);
  });

  it('a session from another token set (rotated tokens) or another secret is no session', async () => {
    const other = new MemoryConsole();
    Object.assign(other.auth, { fingerprint: Buffer.from('rotated') });
    const get = (app: ReturnType<typeof dashboardRoutes>, cookie: string) => app.request(`${ORIGIN}/runs`, { headers: { cookie } });
    const cookie = (await signedCookie(ports, 'secret-a'))!;
    expect((await get(dashboardRoutes(ports, { sessionTtlMs: 60_000, sessionSecret: 'secret-a' }), cookie)).status).toBe(200);
    expect((await get(dashboardRoutes(ports, { sessionTtlMs: 60_000, sessionSecret: 'secret-b' }), cookie)).status).toBe(303);
    expect((await get(dashboardRoutes(other, { sessionTtlMs: 60_000, sessionSecret: 'secret-a' }), cookie)).status).toBe(303);
  });
});

/** A session cookie (`name=value`) issued by a dashboard with this secret. */
async function signedCookie(ports: MemoryConsole, secret: string): Promise<string | undefined> {
  const c = new DashboardClient(dashboardRoutes(ports, { sessionTtlMs: 60_000, sessionSecret: secret }));
  const res = await c.signIn(TOKENS.olivia);
  return res.headers.getSetCookie().find((x) => x.startsWith('pw_console_session='))?.split(';')[0];
}

describe('dashboard: headers and escaping', () => {
  let ports: MemoryConsole;
  let client: DashboardClient;
  beforeEach(async () => {
    ports = new MemoryConsole();
    client = new DashboardClient(dashboardRoutes(ports, { sessionTtlMs: 3_600_000 }));
    await client.signIn(TOKENS.olivia);
  });

  it('pages carry a strict CSP (no inline script or style), nosniff, no framing, and are not cached', async () => {
    const anonymous = new DashboardClient(dashboardRoutes(ports, { sessionTtlMs: 60_000 }));
    for (const [who, path] of [[anonymous, '/login'], [client, '/runs'], [client, '/batch'], [client, '/runs/nope']] as const) {
      const res = await who.get(path);
      const csp = res.headers.get('content-security-policy')!;
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('same-origin');
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
    const page = await (await client.get('/runs')).text();
    expect(page).toContain('<script src="/assets/dashboard.js" defer></script>');
    expect(page).not.toMatch(/<script>|style="|onclick=|onerror=/);
    expect((await client.get('/assets/dashboard.js')).headers.get('content-type')).toContain('text/javascript');
  });

  it('run ids, labels, pipelines, outputs, errors and reasons are escaped on every page', async () => {
    ports.put(
      runDetail({
        runId: 'run-evil',
        status: 'failed',
        pipeline: `<img src=x onerror=alert(1)>`,
        labels: { team: `o"reilly' <b>`, batch: 'b1' },
        reason: EVIL,
        finishedAt: '2026-05-01T12:01:00.000Z',
        stepList: [
          { id: 'draft', kind: 'llm', needs: [], status: 'succeeded', attempt: 1, output: { html: EVIL, quote: `"'` } },
          { id: 'send', kind: 'tool', needs: ['draft'], status: 'failed', attempt: 3, error: { code: 'tool_error', message: EVIL, retryable: false } },
        ],
        decisions: [{ runId: 'run-evil', seq: 0, at: '2026-05-01T12:00:00.000Z', on: 'run.submitted', action: 'start', stepIds: [], reason: EVIL }],
      }),
    );
    const pages = [
      await (await client.get('/runs')).text(),
      await (await client.get('/runs?label=team%3Do%22reilly%27%20%3Cb%3E')).text(),
      await (await client.get('/batch?label=batch%3Db1')).text(),
      await (await client.get('/runs/run-evil')).text(),
      await (await client.get('/runs/run-evil/json/steps/draft')).text(),
      await (await client.get('/runs/run-evil/confirm/rerun')).text(),
    ];
    for (const page of pages) {
      expect(page).not.toContain('<script>alert');
      expect(page).not.toContain('<img src=x');
      expect(page).not.toContain(`o"reilly`);
    }
    expect(pages[0]).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(pages[0]).toContain('team=o&quot;reilly&#39; &lt;b&gt;');
    expect(pages[1]).toContain('run-evil');
    expect(pages[2]).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(pages[3]).toContain('&lt;script&gt;alert(\\&quot;x\\&quot;)&lt;/script&gt;');
    expect(pages[3]).toContain('<code>tool_error</code> &lt;script&gt;');
  });
});

describe('dashboard: operations', () => {
  let ports: MemoryConsole;
  let olivia: DashboardClient;
  let rita: DashboardClient;
  beforeEach(async () => {
    ports = new MemoryConsole();
    ({ olivia, rita } = await operateAndRead(ports));
    ports.put(runDetail({ runId: 'r-failed', status: 'failed', reason: 'step review failed', finishedAt: '2026-05-01T12:01:00.000Z' }));
  });

  it('an operate session sees the buttons; each leads to a confirmation page whose form does it', async () => {
    const page = await (await olivia.get('/runs/r-failed')).text();
    expect(page).toContain('href="/runs/r-failed/confirm/resume"');
    expect(page).toContain('href="/runs/r-failed/confirm/rerun"');
    expect(page).not.toContain('/confirm/cancel');
    const confirm = await (await olivia.get('/runs/r-failed/confirm/resume')).text();
    expect(confirm).toContain('Resume this run?');
    expect(confirm).toContain('action="/runs/r-failed/resume"');
    const res = await olivia.post('/runs/r-failed/resume', { _csrf: hidden(confirm, '_csrf'), reason: 'provider fixed', maxUsd: '2.5' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/runs/r-failed?done=resume');
    expect(ports.operations).toEqual([{ op: 'resume', runId: 'r-failed', actor: 'olivia', body: { budget: { maxUsd: 2.5 }, reason: 'provider fixed' } }]);
    expect(await (await olivia.get('/runs/r-failed?done=resume')).text()).toContain('Resume requested');
  });

  it('re-run asks for the step and goes to the new run; cancel goes back to the run', async () => {
    const confirm = await (await olivia.get('/runs/r-failed/confirm/rerun?step=review')).text();
    expect(confirm).toMatch(/value="review" checked/);
    const csrf = hidden(confirm, '_csrf');
    const res = await olivia.post('/runs/r-failed/rerun', { _csrf: csrf, fromStep: 'review' });
    expect(res.headers.get('location')).toBe('/runs/r-failed-rerun?done=rerun');
    expect((await olivia.post('/runs/r-failed/rerun', { _csrf: csrf })).status).toBe(400);
    ports.put(runDetail({ runId: 'r-live' }));
    expect((await olivia.post('/runs/r-live/cancel', { _csrf: csrf })).headers.get('location')).toBe('/runs/r-live?done=cancel');
    expect(ports.operations.map((o) => o.op)).toEqual(['rerun', 'cancel']);
  });

  it('a refused operation shows the form again with why (409), and bad limits are named (400)', async () => {
    ports.put(runDetail({ runId: 'r-running' }));
    const csrf = await olivia.csrf('/runs/r-failed/confirm/resume');
    const res = await olivia.post('/runs/r-running/resume', { _csrf: csrf });
    expect(res.status).toBe(409);
    expect(await res.text()).toContain('only a stopped run can be resumed');
    const bad = await olivia.post('/runs/r-failed/resume', { _csrf: csrf, maxUsd: '-1', maxTokens: '12' });
    expect(bad.status).toBe(400);
    const text = await bad.text();
    expect(text).toContain('is not an amount above 0');
    expect(text).toContain('value="12"');
    expect(ports.operations).toEqual([]);
  });

  it('CSRF: no token, another session’s token, or another origin is refused (403) and nothing happens', async () => {
    const ritasToken = await rita.csrf();
    expect((await olivia.post('/runs/r-failed/resume', {})).status).toBe(403);
    expect((await olivia.post('/runs/r-failed/resume', { _csrf: ritasToken })).status).toBe(403);
    const mine = await olivia.csrf();
    expect((await olivia.post('/runs/r-failed/resume', { _csrf: mine }, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await olivia.post('/runs/r-failed/resume', { _csrf: mine }, { origin: ORIGIN, 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect(ports.operations).toEqual([]);
  });

  it('a read session has no buttons, no confirmation page, and gets 403 on every operation', async () => {
    const page = await (await rita.get('/runs/r-failed')).text();
    expect(page).toContain('r-failed');
    expect(page).not.toMatch(/confirm\/(resume|rerun|cancel)/);
    expect(page).not.toContain('Re-run from here');
    expect((await rita.get('/runs/r-failed/confirm/resume')).status).toBe(403);
    const csrf = await rita.csrf();
    for (const op of ['cancel', 'resume', 'rerun']) {
      const res = await rita.post(`/runs/r-failed/${op}`, { _csrf: csrf, fromStep: 'review' });
      expect(res.status, op).toBe(403);
      expect(await res.text()).toContain('may read runs but not change them');
    }
    expect(ports.operations).toEqual([]);
  });

  it('an unknown or malformed run id is a 404 page, never a store read', async () => {
    expect((await olivia.get('/runs/nope')).status).toBe(404);
    expect((await olivia.get('/runs/a.b*c')).status).toBe(404);
    expect((await olivia.post('/runs/nope/cancel', { _csrf: await olivia.csrf() })).status).toBe(404);
  });

  it('a form larger than the limit is refused (413)', async () => {
    const res = await olivia.post('/runs/r-failed/resume', { _csrf: await olivia.csrf(), reason: 'x'.repeat(20_000) });
    expect(res.status).toBe(413);
  });
});
