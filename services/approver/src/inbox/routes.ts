import { MAX_VALUE_DEPTH, parseJsonBounded } from '@pipewright/contracts';
import { equalText, LOGIN_CSRF_COOKIE, newLoginNonce, SESSION_COOKIE, type Session } from '@pipewright/kit';
import { Hono, type Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { DecisionInput } from '../core/decide.js';
import type { HttpDeps } from '../http/deps.js';
import type { Html } from './html.js';
import { INBOX_CSS } from './style.js';
import { inboxPage, loginPage, type EditErrors } from './views.js';

/** Decided approvals shown under the pending ones. */
const RECENT_SHOWN = 20;
const LOGIN_NONCE_MAX_AGE_S = 3_600;

const NOTICES: Record<string, (id: string) => string> = {
  approve: (id) => `Approved ${id}.`,
  reject: (id) => `Rejected ${id}.`,
  edit: (id) => `Approved ${id} with the edited arguments.`,
  unchanged: (id) => `${id} was already decided that way.`,
  conflict: (id) => `${id} had already been decided by someone else; that decision stands.`,
  not_found: (id) => `There is no approval ${id}.`,
};

/**
 * The web inbox under /inbox: a login form that exchanges an API token for a signed HttpOnly,
 * SameSite=Strict session cookie; the pending list with approve / reject / edit forms. Every POST
 * must come from our own origin (Origin and Sec-Fetch-Site) and carry the CSRF token: the
 * session-bound synchronizer token, or the double-submit nonce on the login form.
 */
export function inboxRoutes(d: HttpDeps): Hono {
  const app = new Hono();
  const session = (c: Context) => d.sessions.read(getCookie(c, SESSION_COOKIE), Date.now());
  const secure = (c: Context) => new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';

  const showLogin = (c: Context, status: 200 | 401 | 403, error?: string) => {
    const nonce = newLoginNonce();
    setCookie(c, LOGIN_CSRF_COOKIE, nonce, { httpOnly: true, sameSite: 'Strict', path: '/inbox', secure: secure(c), maxAge: LOGIN_NONCE_MAX_AGE_S });
    return page(c, loginPage(nonce, error), status);
  };

  const showInbox = async (c: Context, s: Session, status: 200 | 422, extra: { notice?: string; editErrors?: EditErrors } = {}) => {
    const [pending, recent] = await Promise.all([d.approvals.list({ status: 'pending', limit: 500 }), d.approvals.list({ status: 'decided', limit: 500 })]);
    pending.sort((a, b) => (a.deadlineAt ?? '~').localeCompare(b.deadlineAt ?? '~') || a.request.requestedAt.localeCompare(b.request.requestedAt));
    recent.sort((a, b) => (b.decision?.at ?? '').localeCompare(a.decision?.at ?? ''));
    const model = { user: s.name, csrf: d.sessions.csrfToken(s), pending, recent: recent.slice(0, RECENT_SHOWN), now: new Date(), traceUrl: (t: string) => d.notifier.traceUrl(t), ...extra };
    return page(c, inboxPage(model), status);
  };

  app.get('/style.css', (c) => c.body(INBOX_CSS, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'private, max-age=300' }));

  app.get('/', async (c) => {
    const s = session(c);
    if (!s) return showLogin(c, 200);
    const done = c.req.query('done');
    const id = c.req.query('id') ?? '';
    const notice = done !== undefined ? NOTICES[done]?.(id) : undefined;
    return showInbox(c, s, 200, notice ? { notice } : {});
  });

  app.post('/login', async (c) => {
    if (!sameOrigin(c, d.publicUrl)) return c.text('cross-origin request refused', 403);
    const form = await c.req.parseBody();
    const nonce = getCookie(c, LOGIN_CSRF_COOKIE);
    if (!nonce || !equalText(nonce, field(form, '_csrf'))) return showLogin(c, 403, 'The sign-in form expired. Please try again.');
    const name = d.tokens.verify(field(form, 'token').trim())?.name;
    if (name === undefined) {
      d.log.warn({ ip: c.req.header('x-forwarded-for') }, 'inbox sign-in refused');
      return showLogin(c, 401, 'That token is not valid.');
    }
    const issued = d.sessions.issue(name, Date.now());
    setCookie(c, SESSION_COOKIE, issued.value, { httpOnly: true, sameSite: 'Strict', path: '/', secure: secure(c), maxAge: d.sessions.maxAgeSeconds });
    deleteCookie(c, LOGIN_CSRF_COOKIE, { path: '/inbox' });
    return c.redirect('/inbox', 303);
  });

  app.post('/logout', async (c) => {
    const s = session(c);
    if (!sameOrigin(c, d.publicUrl) || (s && !d.sessions.checkCsrf(s, field(await c.req.parseBody(), '_csrf')))) return c.text('refused', 403);
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.redirect('/inbox', 303);
  });

  app.post('/approvals/:id/:verb{approve|reject|edit}', async (c) => {
    const s = session(c);
    if (!s) return showLogin(c, 401, 'Please sign in again.');
    if (!sameOrigin(c, d.publicUrl)) return c.text('cross-origin request refused', 403);
    const form = await c.req.parseBody();
    if (!d.sessions.checkCsrf(s, field(form, '_csrf'))) return c.text('invalid or missing CSRF token', 403);
    const id = c.req.param('id');
    const verb = c.req.param('verb') as 'approve' | 'reject' | 'edit';
    let input: DecisionInput;
    if (verb === 'edit') {
      const text = field(form, 'arguments');
      const args = parseJsonBounded(text, MAX_VALUE_DEPTH);
      if (!args.ok) return showInbox(c, s, 422, { editErrors: { approvalId: id, text, issues: [{ path: 'arguments', message: args.kind === 'not-json' ? `not valid JSON (${args.reason})` : args.reason }] } });
      input = { kind: 'edit', arguments: args.value };
    } else input = verb === 'reject' ? { kind: 'reject', reason: field(form, 'reason') } : { kind: 'approve' };
    const r = await d.approvals.decide(id, input, { name: s.name, channel: 'inbox' });
    if (r.kind === 'invalid') {
      if (verb === 'edit') return showInbox(c, s, 422, { editErrors: { approvalId: id, text: field(form, 'arguments'), issues: r.issues } });
      return showInbox(c, s, 422, { notice: `Not recorded: ${r.issues.map((i) => `${i.path} ${i.message}`).join('; ')}` });
    }
    const done = r.kind === 'decided' ? verb : r.kind;
    return c.redirect(`/inbox?done=${done}&id=${encodeURIComponent(id)}`, 303);
  });

  return app;
}

function page(c: Context, body: Html, status: 200 | 401 | 403 | 422): Response {
  return c.html(body.text, status);
}

function field(form: Record<string, unknown>, name: string): string {
  const v = form[name];
  return typeof v === 'string' ? v : '';
}

/**
 * A state-changing form must come from our own pages. Browsers send `Origin` on POST and
 * `Sec-Fetch-Site`; a request without either (an old client) still needs the CSRF token.
 */
export function sameOrigin(c: Context, publicUrl: string | undefined): boolean {
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = c.req.header('origin');
  if (origin === undefined) return true;
  const expected = publicUrl ? new URL(publicUrl).origin : new URL(c.req.url).origin;
  return origin === expected;
}
