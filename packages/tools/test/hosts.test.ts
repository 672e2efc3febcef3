import { describe, expect, it } from 'vitest';
import { hostMatches, loadHttpToolConfig, parseHostRules } from '../src/index.js';

describe('host allowlists', () => {
  it('parses exact hosts, *.suffix, IPs and *', () => {
    const r = parseHostRules(['api.example.com', '*.Example.org', '10.1.2.3', '[::1]', 'fd00::1', '*']);
    expect(r).toEqual({
      ok: true,
      rules: [
        { kind: 'exact', host: 'api.example.com' },
        { kind: 'suffix', suffix: '.example.org' },
        { kind: 'exact', host: '10.1.2.3' },
        { kind: 'exact', host: '::1' },
        { kind: 'exact', host: 'fd00::1' },
        { kind: 'any' },
      ],
    });
  });
  it('names the first entry it cannot read', () => {
    for (const bad of ['http://x.com', 'x.com:8080', 'x.com/path', 'user@x.com', '*.10.0.0.1', '', '*x.com'])
      expect(parseHostRules(['ok.com', bad]), bad).toMatchObject({ ok: false, message: expect.stringContaining(`"${bad}"`) });
  });
  it('matches a suffix rule on subdomains only', () => {
    const r = parseHostRules(['*.example.com']);
    if (!r.ok) throw new Error(r.message);
    expect(hostMatches('a.example.com', r.rules)).toBe(true);
    expect(hostMatches('a.b.example.com', r.rules)).toBe(true);
    expect(hostMatches('example.com', r.rules)).toBe(false);
    expect(hostMatches('badexample.com', r.rules)).toBe(false);
    expect(hostMatches('example.com.evil.net', r.rules)).toBe(false);
  });
});

describe('http tool configuration', () => {
  it('needs an allowlist and reads the private-address setting as a boolean or a host list', () => {
    expect(() => loadHttpToolConfig({})).toThrow(/PW_HTTP_TOOL_ALLOW_HOSTS/);
    expect(() => loadHttpToolConfig({ PW_HTTP_TOOL_ALLOW_HOSTS: 'a.com,http://b.com' })).toThrow(/PW_HTTP_TOOL_ALLOW_HOSTS.*"http:\/\/b\.com"/);
    expect(() => loadHttpToolConfig({ PW_HTTP_TOOL_ALLOW_HOSTS: 'a.com', PW_HTTP_TOOL_MAX_REDIRECTS: '99' })).toThrow(/PW_HTTP_TOOL_MAX_REDIRECTS/);
    const off = loadHttpToolConfig({ PW_HTTP_TOOL_ALLOW_HOSTS: 'a.com, *.b.com' });
    expect(off.policy).toEqual({ allowHosts: [{ kind: 'exact', host: 'a.com' }, { kind: 'suffix', suffix: '.b.com' }], allowPrivate: false, maxRedirects: 5, maxResponseBytes: 262_144, timeoutMs: 10_000 });
    expect(loadHttpToolConfig({ PW_HTTP_TOOL_ALLOW_HOSTS: 'a.com', PW_HTTP_TOOL_ALLOW_PRIVATE: 'true' }).policy.allowPrivate).toBe(true);
    expect(loadHttpToolConfig({ PW_HTTP_TOOL_ALLOW_HOSTS: 'a.com', PW_HTTP_TOOL_ALLOW_PRIVATE: '' }).policy.allowPrivate).toBe(false);
    expect(loadHttpToolConfig({ PW_HTTP_TOOL_ALLOW_HOSTS: 'a.com', PW_HTTP_TOOL_ALLOW_PRIVATE: 'db.internal' }).policy.allowPrivate).toEqual([{ kind: 'exact', host: 'db.internal' }]);
  });
});
