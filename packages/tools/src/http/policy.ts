import { isIP } from 'node:net';
import { classifyAddress } from './addresses.js';
import { hostMatches, normalizeHost, type HostRules } from './hosts.js';

/** What the http tool may reach. Built from its configuration; see docs/tools.md. */
export interface HttpPolicy {
  /** Hosts a URL (and every redirect target) must name. */
  readonly allowHosts: HostRules;
  /** Private addresses (RFC 1918, loopback, CGNAT, unique-local): for every allowed host, for these hosts only, or never. */
  readonly allowPrivate: boolean | HostRules;
  /** Redirects followed per call; each target is checked like the first URL. */
  readonly maxRedirects: number;
  /** Response body bytes kept; the rest is cut off and the result says `truncated`. */
  readonly maxResponseBytes: number;
  /** The whole call, every redirect included. */
  readonly timeoutMs: number;
}

/** Codes of the http tool's refusals (never retryable). */
export const HTTP_REFUSALS = {
  scheme: 'scheme_not_allowed',
  credentials: 'credentials_in_url',
  host: 'host_not_allowed',
  address: 'address_not_allowed',
  redirects: 'too_many_redirects',
} as const;

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

export type Verdict<T> = { ok: true; value: T } | { ok: false; code: string; message: string };

/** Checks a URL before anything is resolved: scheme, no credentials, host on the allowlist. Returns the host. */
export function checkUrl(url: URL, policy: HttpPolicy): Verdict<string> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return { ok: false, code: HTTP_REFUSALS.scheme, message: `${url.protocol} URLs are not allowed (http and https only)` };
  if (url.username !== '' || url.password !== '') return { ok: false, code: HTTP_REFUSALS.credentials, message: 'URLs with a user or password are not allowed' };
  const host = normalizeHost(url.hostname);
  if (!hostMatches(host, policy.allowHosts)) return { ok: false, code: HTTP_REFUSALS.host, message: `host ${host} is not on the allowlist` };
  return { ok: true, value: host };
}

/**
 * Checks every address a host resolved to. One bad address refuses the host: connecting to "the
 * good one" would leave the choice to whoever controls the DNS answer.
 */
export function checkAddresses(host: string, addresses: readonly ResolvedAddress[], policy: HttpPolicy): Verdict<readonly ResolvedAddress[]> {
  if (addresses.length === 0) return { ok: false, code: HTTP_REFUSALS.address, message: `${host} resolved to no address` };
  for (const a of addresses) {
    const c = classifyAddress(a.address);
    if (c.kind === 'public') continue;
    if (c.kind === 'private' && privateAllowed(host, policy)) continue;
    const why = c.kind === 'private' ? `a private address (${c.range}) and private addresses are not allowed for this host` : `a forbidden address (${c.range})`;
    const via = isIP(host) !== 0 ? `${host} is` : `${host} resolves to ${a.address},`;
    return { ok: false, code: HTTP_REFUSALS.address, message: `${via} ${why}` };
  }
  return { ok: true, value: addresses };
}

function privateAllowed(host: string, policy: HttpPolicy): boolean {
  return typeof policy.allowPrivate === 'boolean' ? policy.allowPrivate : hostMatches(host, policy.allowPrivate);
}
