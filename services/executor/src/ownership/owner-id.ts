import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * A process's owner id: the pool, the host (a pod's name, for operators reading a lease) and a random
 * part, so a restarted process never inherits its predecessor's leases. It is a subject token and a KV
 * key, so only `[A-Za-z0-9_-]`.
 */
export function newOwnerId(pool: string): string {
  const host = hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40);
  return `${pool}-${host}-${randomBytes(4).toString('hex')}`;
}
