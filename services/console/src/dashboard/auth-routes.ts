import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { equalText, formField, newLoginNonce, sameOrigin } from '@pipewright/kit';
import { LOGIN_NONCE_COOKIE, SESSION_COOKIE, type Dashboard, type DashEnv } from './context.js';
import { loginPage } from './views/login.js';

const LOGIN_NONCE_MAX_AGE_S = 3_600;
/** A sign-in form is a token and two short fields. */
export const FORM_MAX_BYTES = 16 * 1024;
const HOME = '/runs';

/**
 * Sign-in exchanges a token (read or operate) for a signed HttpOnly, SameSite=Strict session cookie,
 * Secure over https. The form is protected by a double-submit nonce (there is no session yet) and the
 * Origin check; `next` brings the person back to the page they asked for, on this site only.
 */
export function authRoutes(app: Hono<DashEnv>, d: Dashboard): void {
  const showLogin = (c: Context, status: 200 | 401 | 403, next: string, error?: string) => {
    const nonce = newLoginNonce();
    setCookie(c, LOGIN_NONCE_COOKIE, nonce, { httpOnly: true, sameSite: 'Strict', path: '/login', secure: d.secure(c), maxAge: LOGIN_NONCE_MAX_AGE_S });
    return d.page(c, loginPage(nonce, next, error), status);
  };

  app.get('/login', (c) => {
    const next = localPath(c.req.query('next'));
    return d.viewer(c) ? c.redirect(next, 303) : showLogin(c, 200, next);
  });

  app.post('/login', bodyLimit({ maxSize: FORM_MAX_BYTES, onError: (c) => d.refuse(c, 413, 'Too large', 'That form was too large.') }), async (c) => {
    if (!sameOrigin(c.req, d.opts.publicUrl)) return d.refuse(c, 403, 'Refused', 'A form from another site cannot sign in here.');
    const form = (await c.req.parseBody()) as Record<string, unknown>;
    const next = localPath(formField(form, 'next'));
    const nonce = getCookie(c, LOGIN_NONCE_COOKIE);
    if (!nonce || !equalText(nonce, formField(form, '_csrf'))) return showLogin(c, 403, next, 'The sign-in form expired. Please try again.');
    const who = d.ports.auth.verify(formField(form, 'token').trim());
    if (!who) return showLogin(c, 401, next, 'That token is not valid.');
    const issued = d.sessions.issue(who.name, Date.now(), who.role);
    setCookie(c, SESSION_COOKIE, issued.value, { httpOnly: true, sameSite: 'Strict', path: '/', secure: d.secure(c), maxAge: d.sessions.maxAgeSeconds });
    deleteCookie(c, LOGIN_NONCE_COOKIE, { path: '/login' });
    return c.redirect(next, 303);
  });

  app.post('/logout', bodyLimit({ maxSize: FORM_MAX_BYTES, onError: (c) => d.refuse(c, 413, 'Too large', 'That form was too large.') }), async (c) => {
    const checked = await d.checkPost(c, 'read');
    if (!checked.ok) return checked.response;
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.redirect('/login', 303);
  });
}

/** `next` as a path on this site; anything else (another host, `//host`, a scheme) goes home. */
export function localPath(next: string | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.includes('\\') || next.length > 2048) return HOME;
  const u = new URL(next, 'http://dashboard.invalid');
  if (u.origin !== 'http://dashboard.invalid' || u.pathname === '/login' || u.pathname === '/logout') return HOME;
  return `${u.pathname}${u.search}`;
}
