import { isIP } from 'node:net';
import { ipaddr } from './ipaddr.js';

/**
 * Host allowlists, as operators write them: `api.example.com` (that host only), `*.example.com`
 * (any subdomain, not example.com itself), an IP address (`10.1.2.3`, `[::1]` or `::1`), or `*`
 * (any host; the address rules still apply). Hosts are compared in the form the WHATWG URL parser
 * gives (lower case, punycode, canonical IPs), so `HTTP://Example.COM.` and `example.com` are one host.
 */
export type HostRule = { kind: 'any' } | { kind: 'exact'; host: string } | { kind: 'suffix'; suffix: string };
export type HostRules = readonly HostRule[];

/** A URL's hostname in comparable form: no brackets, no trailing dot, canonical IP text. */
export function normalizeHost(hostname: string): string {
  let h = hostname.toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  if (isIP(h) !== 0) return ipaddr.parse(h).toString();
  return h;
}

/** Parses allowlist entries; the first bad entry is named. */
export function parseHostRules(entries: readonly string[]): { ok: true; rules: HostRules } | { ok: false; message: string } {
  const rules: HostRule[] = [];
  for (const raw of entries) {
    const entry = raw.trim();
    if (entry === '*') {
      rules.push({ kind: 'any' });
      continue;
    }
    const wildcard = entry.startsWith('*.');
    const host = hostOf(wildcard ? entry.slice(2) : entry);
    if (host === undefined || (wildcard && isIP(host) !== 0)) return { ok: false, message: `"${entry}" is not a host name, "*.domain", an IP address or "*"` };
    rules.push(wildcard ? { kind: 'suffix', suffix: `.${host}` } : { kind: 'exact', host });
  }
  return { ok: true, rules };
}

/** Whether `host` (as normalizeHost gives it) is on the list. */
export function hostMatches(host: string, rules: HostRules): boolean {
  return rules.some((r) => r.kind === 'any' || (r.kind === 'exact' ? r.host === host : host.endsWith(r.suffix)));
}

function hostOf(entry: string): string | undefined {
  const bracketed = isIP(entry) === 6 ? `[${entry}]` : entry;
  // Only a bare host: no scheme, port, path, user or query.
  if (bracketed === '' || /[/@?#\s]/.test(bracketed) || (/:/.test(bracketed) && !bracketed.startsWith('['))) return undefined;
  try {
    const u = new URL(`http://${bracketed}`);
    if (u.port !== '' || u.host !== u.hostname) return undefined;
    const host = normalizeHost(u.hostname);
    // The URL parser lets some odd characters through (`*x.com`); a host name is labels of these.
    return isIP(host) !== 0 || /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(host) ? host : undefined;
  } catch {
    return undefined;
  }
}
