import { bearerToken } from '@pipewright/kit';
import type { MiddlewareHandler } from 'hono';
import type { Authenticator, ConsoleRole } from '../ports.js';
import { apiError } from './errors.js';

export type ApiEnv = { Variables: { actor: { name: string; role: ConsoleRole } } };

const CHALLENGE = { 'www-authenticate': 'Bearer realm="pipewright-console"' };

/**
 * Bearer-token authentication and the role check, before anything is read or changed: 401 without a
 * valid token, 403 for a `read` token on an `operate` route (operate includes read).
 */
export function requireRole(auth: Authenticator, role: ConsoleRole): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const token = bearerToken(c.req.header('authorization'));
    const holder = token !== undefined ? auth.verify(token) : undefined;
    if (!holder) return apiError(c, 401, 'unauthorized', 'a valid bearer token is required (Authorization: Bearer <token>)', {}, CHALLENGE);
    if (role === 'operate' && holder.role !== 'operate') return apiError(c, 403, 'forbidden', 'this token may read runs but not change them (role read)');
    c.set('actor', holder);
    await next();
  };
}
