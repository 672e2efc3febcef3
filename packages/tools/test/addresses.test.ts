import { describe, expect, it } from 'vitest';
import { checkAddresses, checkUrl, classifyAddress, parseHostRules, type HttpPolicy, type ResolvedAddress } from '../src/index.js';

/**
 * The address rules, as pure functions: these addresses are only classified here, never contacted
 * (tests send traffic to loopback only).
 */
const rules = (...entries: string[]) => {
  const r = parseHostRules(entries);
  if (!r.ok) throw new Error(r.message);
  return r.rules;
};
const policy = (over: Partial<HttpPolicy> = {}): HttpPolicy => ({ allowHosts: rules('*'), allowPrivate: false, maxRedirects: 5, maxResponseBytes: 1_000, timeoutMs: 1_000, ...over });
const v4 = (address: string): ResolvedAddress => ({ address, family: 4 });
const v6 = (address: string): ResolvedAddress => ({ address, family: 6 });

describe('classifyAddress', () => {
  it('calls global unicast public', () => {
    for (const a of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '64:ff9b::808:808', '2002:808:808::1']) expect(classifyAddress(a), a).toEqual({ kind: 'public' });
  });
  it('calls RFC 1918, loopback, CGNAT and unique-local private', () => {
    for (const a of ['10.0.0.1', '172.16.5.4', '172.31.255.255', '192.168.1.1', '127.0.0.1', '127.8.9.10', '100.64.0.1', '::1', 'fc00::1', 'fd12:3456::1'])
      expect(classifyAddress(a).kind, a).toBe('private');
  });
  it('forbids link-local (cloud metadata), unspecified, multicast, broadcast and reserved ranges', () => {
    for (const a of ['169.254.169.254', '169.254.0.1', 'fe80::1', '0.0.0.0', '0.1.2.3', '::', '224.0.0.1', 'ff02::1', '255.255.255.255', '240.0.0.1', '192.0.2.1', '2001:db8::1'])
      expect(classifyAddress(a).kind, a).toBe('forbidden');
  });
  it('sees the IPv4 address inside IPv4-mapped, NAT64, 6to4 and IPv4-compatible IPv6 forms', () => {
    expect(classifyAddress('::ffff:127.0.0.1')).toEqual({ kind: 'private', range: 'loopback (in ipv4Mapped)' });
    expect(classifyAddress('::ffff:a00:1').kind).toBe('private');
    expect(classifyAddress('::ffff:169.254.169.254').kind).toBe('forbidden');
    expect(classifyAddress('64:ff9b::a9fe:a9fe').kind).toBe('forbidden'); // NAT64 of 169.254.169.254
    expect(classifyAddress('64:ff9b::a00:1').kind).toBe('private'); // NAT64 of 10.0.0.1
    expect(classifyAddress('2002:7f00:1::').kind).toBe('private'); // 6to4 of 127.0.0.1
    expect(classifyAddress('::7f00:1').kind).toBe('private'); // IPv4-compatible 127.0.0.1
    expect(classifyAddress('2001:0:4136:e378:8000:63bf:3fff:fdd2').kind).toBe('forbidden'); // Teredo hides its target
  });
  it('forbids cloud metadata addresses outside link-local and anything unparseable', () => {
    expect(classifyAddress('fd00:ec2::254')).toEqual({ kind: 'forbidden', range: 'cloudMetadata' });
    expect(classifyAddress('100.100.100.200')).toEqual({ kind: 'forbidden', range: 'cloudMetadata' });
    expect(classifyAddress('fe80::1%eth0').kind).toBe('forbidden');
    expect(classifyAddress('not-an-ip').kind).toBe('forbidden');
  });
});

describe('checkAddresses', () => {
  it('refuses a host when any one of its addresses is not allowed', () => {
    const r = checkAddresses('mixed.example', [v4('8.8.8.8'), v4('10.0.0.1')], policy());
    expect(r).toEqual({ ok: false, code: 'address_not_allowed', message: expect.stringContaining('mixed.example resolves to 10.0.0.1') });
    expect(checkAddresses('ok.example', [v4('8.8.8.8'), v6('2606:4700:4700::1111')], policy())).toMatchObject({ ok: true });
    expect(checkAddresses('none.example', [], policy())).toMatchObject({ ok: false, code: 'address_not_allowed' });
  });
  it('allows private addresses for every host, for listed hosts only, or never', () => {
    const addrs = [v4('10.0.0.1')];
    expect(checkAddresses('db.internal', addrs, policy())).toMatchObject({ ok: false, message: expect.stringContaining('private') });
    expect(checkAddresses('db.internal', addrs, policy({ allowPrivate: true }))).toMatchObject({ ok: true });
    expect(checkAddresses('db.internal', addrs, policy({ allowPrivate: rules('*.internal') }))).toMatchObject({ ok: true });
    expect(checkAddresses('other.example', addrs, policy({ allowPrivate: rules('*.internal') }))).toMatchObject({ ok: false });
  });
  it('never allows link-local or metadata addresses, even where private addresses are allowed', () => {
    for (const a of [v4('169.254.169.254'), v6('fe80::1'), v6('fd00:ec2::254'), v4('100.100.100.200'), v4('0.0.0.0'), v6('::ffff:169.254.169.254')])
      expect(checkAddresses('h.example', [a], policy({ allowPrivate: true })), a.address).toMatchObject({ ok: false, code: 'address_not_allowed', message: expect.stringContaining('forbidden') });
  });
});

describe('checkUrl', () => {
  it('checks scheme, credentials and the allowlist, comparing hosts in canonical form', () => {
    const p = policy({ allowHosts: rules('api.example.com', '*.example.org', '127.0.0.1', '::1') });
    expect(checkUrl(new URL('https://API.Example.COM./x'), p)).toEqual({ ok: true, value: 'api.example.com' });
    expect(checkUrl(new URL('http://a.b.example.org/'), p)).toEqual({ ok: true, value: 'a.b.example.org' });
    expect(checkUrl(new URL('http://example.org/'), p)).toMatchObject({ ok: false, code: 'host_not_allowed' });
    expect(checkUrl(new URL('http://evilexample.org/'), p)).toMatchObject({ ok: false, code: 'host_not_allowed' });
    // the URL parser turns these spellings into 127.0.0.1 before the allowlist sees them
    for (const u of ['http://0177.0.0.1/', 'http://2130706433/', 'http://127.1/', 'http://0x7f.0.0.1/']) expect(checkUrl(new URL(u), p), u).toEqual({ ok: true, value: '127.0.0.1' });
    expect(checkUrl(new URL('http://[0:0::1]/'), p)).toEqual({ ok: true, value: '::1' });
    expect(checkUrl(new URL('file:///etc/passwd'), p)).toMatchObject({ ok: false, code: 'scheme_not_allowed' });
    expect(checkUrl(new URL('ftp://api.example.com/'), p)).toMatchObject({ ok: false, code: 'scheme_not_allowed' });
    expect(checkUrl(new URL('https://user:pw@api.example.com/'), p)).toMatchObject({ ok: false, code: 'credentials_in_url' });
  });
  it('then refuses an allowed IP literal by the address rules', () => {
    const p = policy({ allowHosts: rules('*') });
    for (const u of ['http://127.0.0.1/', 'http://10.0.0.1/', 'http://169.254.169.254/latest/meta-data/', 'http://[::1]/', 'http://[::ffff:7f00:1]/', 'http://0.0.0.0/']) {
      const host = checkUrl(new URL(u), p);
      if (!host.ok) throw new Error(`${u}: ${host.message}`);
      expect(checkAddresses(host.value, [{ address: host.value, family: host.value.includes(':') ? 6 : 4 }], p), u).toMatchObject({ ok: false, code: 'address_not_allowed' });
    }
  });
});
