import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { contentSecurityPolicy, formField, isHttps, sameOrigin, securityHeaders, Sessions, type Html, type Session } from '@pipewright/kit';
import type { ConsolePorts, ConsoleRole } from '../ports.js';
import { layout } from './views/layout.js';
import { messagePage } from './views/message.js';

/** Cookie names: distinct from the approver's inbox, which may share the host (cookies ignore ports). */
export const SESSION_COOKIE = 'pw_console_session';
export const LOGIN_NONCE_COOKIE = 'pw_console_login';

/** Pages load our stylesheet and our one script, which opens Server-Sent Events back to us; nothing else. */
const PAGE_HEADERS = securityHeaders(contentSecurityPolicy({ scripts: true }));

export interface DashboardOptions {
  /** Signs session cookies (with the token set's fingerprint): replicas given the same secret agree. */
  sessionSecret?: string;
  /** How long a sign-in lasts, in milliseconds. */
  sessionTtlMs: number;
  /** The URL people reach the console at: the Origin forms must come from, behind a proxy. */
  publicUrl?: string;
}

/** Hono's environment of the dashboard's routes: the signed-in person, once `signedIn` has run. */
export type DashEnv = { Variables: { viewer: Viewer } };

/** A signed-in person: who, what they may do, and their CSRF token. */
export interface Viewer {
  session: Session;
  name: string;
  role: ConsoleRole;
  csrf: string;
}

/** What every dashboard route shares: the ports, the sessions, and the checks on requests. */
export class Dashboard {
  readonly sessions: Sessions;

  constructor(
    readonly ports: ConsolePorts,
    readonly opts: DashboardOptions,
  ) {
    // The token set's fingerprint is always part of the key: changing the tokens (revoking one, changing
    // a role) ends every session, so a session never outlives the token or the role it was issued for.
    this.sessions = new Sessions({ ttlMs: opts.sessionTtlMs, keyMaterial: ['console', opts.sessionSecret ?? '', ports.auth.fingerprint] });
  }

  /** Where the run page links to: Jaeger's UI and the approver's inbox, when configured. */
  get links(): { jaegerUrl?: string; inboxUrl?: string } {
    return { ...(this.ports.jaegerUrl ? { jaegerUrl: this.ports.jaegerUrl } : {}), ...(this.ports.inboxUrl ? { inboxUrl: this.ports.inboxUrl } : {}) };
  }

  viewer(c: Context): Viewer | undefined {
    const session = this.sessions.read(getCookie(c, SESSION_COOKIE), Date.now());
    if (!session || (session.role !== 'read' && session.role !== 'operate')) return undefined;
    return { session, name: session.name, role: session.role, csrf: this.sessions.csrfToken(session) };
  }

  secure(c: Context): boolean {
    return isHttps(c.req);
  }

  /** An HTML response with the page headers (CSP, nosniff, no framing, no caching). */
  page(c: Context, body: Html, status: 200 | 400 | 401 | 403 | 404 | 409 | 413 | 422 | 503 = 200): Response {
    for (const [name, value] of Object.entries(PAGE_HEADERS)) c.header(name, value);
    c.header('cache-control', 'no-store');
    return c.html(body.text, status);
  }

  /** A page saying why a request was refused, with the status. */
  refuse(c: Context, status: 400 | 403 | 404 | 409 | 413 | 503, title: string, message: string, v?: Viewer): Response {
    return this.page(c, layout(title, messagePage(title, message), v), status);
  }

  /** Pages need a session: without one, the sign-in page, coming back here afterwards. */
  readonly signedIn: MiddlewareHandler<DashEnv> = async (c, next) => {
    const v = this.viewer(c);
    if (!v) {
      const url = new URL(c.req.url);
      return c.redirect(`/login?next=${encodeURIComponent(url.pathname + url.search)}`, 303);
    }
    c.set('viewer', v);
    await next();
  };

  /**
   * A state-changing POST: a session (else 401), from our own origin, with the session's CSRF token,
   * and (`operate`) a token that may change runs. Returns the viewer and the form, or the refusal.
   */
  async checkPost(c: Context, need: ConsoleRole): Promise<{ ok: true; viewer: Viewer; form: Record<string, unknown> } | { ok: false; response: Response }> {
    const v = this.viewer(c);
    if (!v) return { ok: false, response: c.redirect('/login', 303) };
    if (!sameOrigin(c.req, this.opts.publicUrl)) return { ok: false, response: this.refuse(c, 403, 'Refused', 'A form from another site cannot act here.', v) };
    const form = (await c.req.parseBody()) as Record<string, unknown>;
    if (!this.sessions.checkCsrf(v.session, formField(form, '_csrf'))) return { ok: false, response: this.refuse(c, 403, 'Refused', 'The form carried no valid CSRF token. Reload the page and try again.', v) };
    if (need === 'operate' && v.role !== 'operate') return { ok: false, response: this.refuse(c, 403, 'Not allowed', 'Your token may read runs but not change them.', v) };
    return { ok: true, viewer: v, form };
  }
}
