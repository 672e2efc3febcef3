import { ipaddr, type IPv4, type IPv6 } from './ipaddr.js';

/**
 * Which addresses the http tool may connect to. ipaddr.js (the parser under express's proxy-addr)
 * does the parsing and knows the IANA special-purpose ranges: hand-written IPv6 parsing is where SSRF
 * filters usually break. The rule is an allowlist of ranges, not a blocklist: only global unicast is
 * public; private ranges need the operator's consent; everything else is refused.
 */
export type AddressClass =
  /** Global unicast: allowed. */
  | { kind: 'public' }
  /** RFC 1918, loopback, CGNAT, unique-local: allowed only where private addresses are allowed. */
  | { kind: 'private'; range: string }
  /** Never: link-local (cloud metadata), unspecified, multicast, broadcast, reserved, tunnels. */
  | { kind: 'forbidden'; range: string };

const PRIVATE_V4 = new Set(['private', 'loopback', 'carrierGradeNat']);
const PRIVATE_V6 = new Set(['uniqueLocal', 'loopback']);

/**
 * Cloud metadata endpoints outside link-local, refused even where private addresses are allowed:
 * AWS IMDS over IPv6 (in fc00::/7) and Alibaba Cloud's (in 100.64/10). 169.254.169.254 is link-local.
 */
const METADATA = new Set(['fd00:ec2::254', '100.100.100.200']);

/** Classifies one IP address (v4 or v6, as DNS or the URL parser gives it). */
export function classifyAddress(address: string): AddressClass {
  let parsed: IPv4 | IPv6;
  try {
    parsed = ipaddr.parse(address);
  } catch {
    return { kind: 'forbidden', range: 'unparseable' };
  }
  return classify(parsed);
}

function classify(ip: IPv4 | IPv6): AddressClass {
  if (METADATA.has(ip.toString())) return { kind: 'forbidden', range: 'cloudMetadata' };
  if (ip.kind() === 'ipv4') {
    const range = (ip as IPv4).range();
    if (range === 'unicast') return { kind: 'public' };
    return PRIVATE_V4.has(range) ? { kind: 'private', range } : { kind: 'forbidden', range };
  }
  const v6 = ip as IPv6;
  // A zone (`fe80::1%eth0`) only means something on a link.
  if (v6.zoneId !== undefined) return { kind: 'forbidden', range: 'scoped' };
  const range = v6.range() as string;
  const embedded = embeddedIPv4(v6, range);
  if (embedded === 'opaque') return { kind: 'forbidden', range };
  if (embedded) {
    // ::ffff:127.0.0.1, 64:ff9b::a9fe:a9fe, 2002:0a00:0001::: the packet goes to the IPv4 inside.
    const inner = classify(embedded);
    return inner.kind === 'public' ? inner : { kind: inner.kind, range: `${inner.range} (in ${range})` };
  }
  if (range === 'unicast') return { kind: 'public' };
  return PRIVATE_V6.has(range) ? { kind: 'private', range } : { kind: 'forbidden', range };
}

/** The IPv4 address an IPv6 address stands for; 'opaque' when it hides one we cannot check. */
function embeddedIPv4(v6: IPv6, range: string): IPv4 | 'opaque' | undefined {
  const p = v6.parts;
  const last32 = () => new ipaddr.IPv4([p[6]! >> 8, p[6]! & 0xff, p[7]! >> 8, p[7]! & 0xff]);
  switch (range) {
    case 'ipv4Mapped': // ::ffff:a.b.c.d
    case 'rfc6145': // ::ffff:0:a.b.c.d
      return last32();
    case 'rfc6052': // NAT64: 64:ff9b::a.b.c.d; the local-use 64:ff9b:1::/48 puts it elsewhere
      return p[0] === 0x64 && p[1] === 0xff9b && p[2] === 0 ? last32() : 'opaque';
    case '6to4': // 2002:AABB:CCDD::/48
      return new ipaddr.IPv4([p[1]! >> 8, p[1]! & 0xff, p[2]! >> 8, p[2]! & 0xff]);
    case 'teredo': // the client address is obfuscated
      return 'opaque';
  }
  // Deprecated IPv4-compatible form ::a.b.c.d (not :: and not ::1).
  if (p.slice(0, 6).every((x: number) => x === 0) && (p[6] !== 0 || p[7]! > 1)) return last32();
  return undefined;
}
