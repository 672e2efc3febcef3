import { createHash, createHmac, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { equalText } from './compare.js';

/** Cookie names of a web page's session and its login form's double-submit cookie. */
export const SESSION_COOKIE = 'pw_session';
export const LOGIN_CSRF_COOKIE = 'pw_login_csrf';

export interface Session {
  /** The token's name: who acts. */
  readonly name: string;
  /** Random per login: the CSRF token is bound to it, so a token from another session is refused. */
  readonly sid: string;
  readonly expiresAtMs: number;
}

/** The tokens sessions are issued for: a session lasts while its name has a token. */
export interface SessionPrincipals {
  readonly fingerprint: Buffer;
  has(name: string): boolean;
}

const Payload = z.object({ n: z.string(), s: z.string(), e: z.number() });

/**
 * Stateless web sessions: the cookie holds the name, a session id and an expiry, signed with
 * HMAC-SHA256, so every replica accepts it without a shared session table. A session also ends when
 * its name loses its token. CSRF tokens are synchronizer tokens derived from the session id.
 */
export class Sessions {
  private readonly key: Buffer;

  constructor(
    private readonly principals: SessionPrincipals,
    private readonly ttlMs: number,
    secret: string | undefined,
  ) {
    // Without a configured secret the key follows the token set: replicas agree, and rotating tokens logs everyone out.
    this.key = createHash('sha256')
      .update('pipewright-session|')
      .update(secret ?? principals.fingerprint)
      .digest();
  }

  issue(name: string, nowMs: number): { value: string; session: Session } {
    const session: Session = { name, sid: randomBytes(16).toString('base64url'), expiresAtMs: nowMs + this.ttlMs };
    const payload = Buffer.from(JSON.stringify({ n: session.name, s: session.sid, e: session.expiresAtMs })).toString('base64url');
    return { value: `${payload}.${this.mac(payload)}`, session };
  }

  /** The session a cookie value proves, if it is authentic, unexpired and its name still has a token. */
  read(value: string | undefined, nowMs: number): Session | undefined {
    if (!value) return undefined;
    const [payload, mac, extra] = value.split('.');
    if (payload === undefined || mac === undefined || extra !== undefined || !equalText(mac, this.mac(payload))) return undefined;
    let parsed: z.infer<typeof Payload>;
    try {
      parsed = Payload.parse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
    } catch {
      return undefined;
    }
    if (parsed.e <= nowMs || !this.principals.has(parsed.n)) return undefined;
    return { name: parsed.n, sid: parsed.s, expiresAtMs: parsed.e };
  }

  csrfToken(session: Session): string {
    return this.mac(`csrf|${session.sid}`);
  }

  checkCsrf(session: Session, presented: string | undefined): boolean {
    return presented !== undefined && equalText(presented, this.csrfToken(session));
  }

  get maxAgeSeconds(): number {
    return Math.floor(this.ttlMs / 1000);
  }

  private mac(text: string): string {
    return createHmac('sha256', this.key).update(text).digest('base64url');
  }
}

/** A random value for a login form's double-submit cookie. */
export const newLoginNonce = () => randomBytes(16).toString('base64url');
