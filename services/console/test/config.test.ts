import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConsoleTokens } from '../src/auth.js';
import { loadConfig, loadWebhooks } from '../src/config.js';
import { retryDelayMs, wants } from '../src/webhooks/body.js';

const OP = 'operate-token-0123456789abcdef';
const RD = 'read-token-0123456789abcdefgh';

describe('console configuration', () => {
  it('defaults, and a bad value names its variable', () => {
    expect(loadConfig({})).toMatchObject({ PW_CONSOLE_PORT: 8070, PW_CONSOLE_HOST: '0.0.0.0', PW_CONSOLE_WEBHOOK_MAX_ATTEMPTS: 8, PW_CONSOLE_INDEX_MAX_RUNS: 200_000 });
    expect(() => loadConfig({ PW_CONSOLE_PORT: 'eighty' })).toThrow(/PW_CONSOLE_PORT/);
    expect(() => loadConfig({ PW_CONSOLE_SESSION_SECRET: 'short' })).toThrow(/PW_CONSOLE_SESSION_SECRET/);
    expect(() => loadConfig({ PW_JAEGER_UI_URL: 'not a url' })).toThrow(/PW_JAEGER_UI_URL/);
  });

  it('tokens carry a role (read or operate), compared in constant time; a bad entry names the variable', () => {
    const tokens = loadConsoleTokens({ PW_CONSOLE_TOKENS: [`ops:operate:${OP}`, `viewer:read:${RD}`] });
    expect(tokens.verify(OP)).toEqual({ name: 'ops', role: 'operate' });
    expect(tokens.verify(RD)).toEqual({ name: 'viewer', role: 'read' });
    for (const wrong of ['', OP.slice(0, -1), `${OP} `, RD + OP]) expect(tokens.verify(wrong)).toBeUndefined();
    expect(tokens.roleOf('viewer')).toBe('read');
    expect(() => loadConsoleTokens({ PW_CONSOLE_TOKENS: [`ops:${OP}`] })).toThrow(/PW_CONSOLE_TOKENS: entry 1 needs the form name:role:token/);
    expect(() => loadConsoleTokens({ PW_CONSOLE_TOKENS: [`ops:admin:${OP}`] })).toThrow(/the role of "ops" must be read or operate/);
    expect(() => loadConsoleTokens({ PW_CONSOLE_TOKENS: ['ops:read:short'] })).toThrow(/shorter than 16/);
    const dir = mkdtempSync(join(tmpdir(), 'pw-console-'));
    writeFileSync(join(dir, 'tokens'), `# console\nviewer:read:${RD}\n`);
    expect(loadConsoleTokens({ PW_CONSOLE_TOKENS: [`ops:operate:${OP}`], PW_CONSOLE_TOKENS_FILE: join(dir, 'tokens') }).size).toBe(2);
    expect(() => loadConsoleTokens({ PW_CONSOLE_TOKENS: [`viewer:operate:${OP}`], PW_CONSOLE_TOKENS_FILE: join(dir, 'tokens') })).toThrow(/"viewer" is also in PW_CONSOLE_TOKENS/);
  });

  it('webhook endpoints: a JSON list, each with a url and a secret of 16 characters or more', () => {
    const hooks = loadWebhooks({ PW_CONSOLE_WEBHOOKS: JSON.stringify([{ url: 'https://hooks.example/a', secret: 's'.repeat(16), labels: { batch: 'n' }, statuses: ['failed'] }]) });
    expect(hooks).toHaveLength(1);
    expect(() => loadWebhooks({ PW_CONSOLE_WEBHOOKS: '[{"url":"https://x.example","secret":"short"}]' })).toThrow(/PW_CONSOLE_WEBHOOKS: \[0.secret\] at least 16 characters/);
    expect(() => loadWebhooks({ PW_CONSOLE_WEBHOOKS: '[{"url":"ftp://x.example","secret":"ssssssssssssssss"}]' })).toThrow(/PW_CONSOLE_WEBHOOKS: \[0.url\]/);
    expect(() => loadWebhooks({ PW_CONSOLE_WEBHOOKS: 'nope' })).toThrow(/PW_CONSOLE_WEBHOOKS: not JSON/);
    expect(() => loadWebhooks({ PW_CONSOLE_WEBHOOKS_FILE: '/nonexistent/hooks.json' })).toThrow(/PW_CONSOLE_WEBHOOKS_FILE: cannot read/);
    const run = { runId: 'r', status: 'failed', pipeline: 'p', tenant: 't', labels: { batch: 'n' }, createdAt: '', updatedAt: '', steps: { total: 1, succeeded: 0 }, costUsd: 0, totalTokens: 0 } as const;
    expect(wants(hooks[0]!, run)).toBe(true);
    expect(wants(hooks[0]!, { ...run, status: 'succeeded' })).toBe(false);
    expect(wants(hooks[0]!, { ...run, labels: {} })).toBe(false);
  });

  it('retry delays grow exponentially with full jitter, capped', () => {
    expect([1, 2, 3, 4, 10].map((a) => retryDelayMs(a, 100, 1_000, () => 1))).toEqual([100, 200, 400, 800, 1_000]);
    expect(retryDelayMs(3, 100, 1_000, () => 0)).toBe(0);
    for (let i = 0; i < 100; i++) expect(retryDelayMs(5, 100, 1_000)).toBeLessThanOrEqual(1_000);
  });
});
