import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { ToolCallError, ToolRetryableError } from '../errors.js';
import { untilAborted } from './abort.js';
import type { ResolvedAddress } from './policy.js';

/** Resolves a host to every address it has. Tests and special set-ups pass their own. */
export type Resolver = (host: string, signal: AbortSignal) => Promise<readonly ResolvedAddress[]>;

/** DNS answers that will not change on a retry. */
const PERMANENT_DNS_CODES = new Set(['ENOTFOUND', 'ENODATA', 'EAI_NONAME', 'EAI_NODATA']);

/**
 * The system resolver (getaddrinfo: /etc/hosts, then DNS), every address, in the order it gives
 * them. An IP literal resolves to itself without a lookup. Bounded by `signal`.
 */
export const systemResolver: Resolver = async (host, signal) => {
  const family = isIP(host);
  if (family !== 0) return [{ address: host, family: family === 6 ? 6 : 4 }];
  try {
    const found = await untilAborted(lookup(host, { all: true, verbatim: true }), signal, () => new ToolRetryableError('timeout', `resolving ${host} took too long`));
    return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
  } catch (err) {
    if (err instanceof ToolRetryableError) throw err;
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && PERMANENT_DNS_CODES.has(code)) throw new ToolCallError('dns_not_found', `${host} does not resolve (${code})`);
    throw new ToolRetryableError('dns_failed', `resolving ${host} failed: ${String(code ?? err)}`, undefined, { cause: err });
  }
};
