import { createHash, createHmac, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { equalText } from './compare.js';

export interface Session {
  /** The token's name: who acts. */
  readonly name: string;
  /** What the token allowed at sign-in (`read`, `operate`, …), for services whose tokens have roles. */
  readonly role?: string;
  /** Random per sign-in: the CSRF token is bound to it, so a token from another session is refused. */
  readonly sid: string;
  readonly expiresAtMs: number;
}

export interface SessionOptions {
  /** How long a session lasts from sign-in, in milliseconds. */
  ttlMs: number;
  /**
   * What the signing key is derived from, in order: e.g. the service's name, a configured secret, the
   * token set's fingerprint. Replicas given the same material accept each other's cookies; changing
   * any part (rotating the tokens, say) ends every session.
   */
  keyMaterial: readonly (string | Buffer)[];
  /** Checked on every read: whether a session still holds (its name still has a token). @default always */
  stillValid?: (session: Session) => boolean;
}

const Payload = z.strictObject({ n: z.string(), r: z.string().optional(), s: z.string(), e: z.number() });

/**
 * Stateless web sessions: the cookie holds the name (and role), a session id and an expiry, signed
 * with HMAC-SHA256, so every replica accepts it without a shared session table. CSRF tokens are
 * synchronizer tokens derived from the session id.
 */
export class Sessions {
  private readonly key: Buffer;

  constructor(private readonly opts: SessionOptions) {
    const h = createHash('sha256').update('pipewright-session|');
    opts.keyMaterial.forEach((part, i) => (i === 0 ? h.update(part) : h.update('|').update(part)));
    this.key = h.digest();
  }

  issue(name: string, nowMs: number, role?: string): { value: string; session: Session } {
    const session: Session = { name, ...(role !== undefined ? { role } : {}), sid: randomBytes(16).toString('base64url'), expiresAtMs: nowMs + this.opts.ttlMs };
    const body = { n: session.name, ...(role !== undefined ? { r: role } : {}), s: session.sid, e: session.expiresAtMs };
    const payload = Buffer.from(JSON.stringify(body)).toString('base64url');
    return { value: `${payload}.${this.mac(payload)}`, session };
  }

  /** The session a cookie value proves, if it is authentic, unexpired and still valid. */
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
    const session: Session = { name: parsed.n, ...(parsed.r !== undefined ? { role: parsed.r } : {}), sid: parsed.s, expiresAtMs: parsed.e };
    if (parsed.e <= nowMs || (this.opts.stillValid && !this.opts.stillValid(session))) return undefined;
    return session;
  }

  csrfToken(session: Session): string {
    return this.mac(`csrf|${session.sid}`);
  }

  checkCsrf(session: Session, presented: string | undefined): boolean {
    return presented !== undefined && equalText(presented, this.csrfToken(session));
  }

  get maxAgeSeconds(): number {
    return Math.floor(this.opts.ttlMs / 1000);
  }

  private mac(text: string): string {
    return createHmac('sha256', this.key).update(text).digest('base64url');
  }
}

/** A random value for a sign-in form's double-submit cookie (there is no session to bind it to yet). */
export const newLoginNonce = () => randomBytes(16).toString('base64url');
