import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@pipewright/kit';
import { describe, expect, it } from 'vitest';
import { loadConfig, loadSettings } from '../src/index.js';

const yaml = `
prices:
  gpt-4o-mini: { input: 0.15, cachedInput: 0.075, output: 0.6 }
  azure/gpt-4o-mini: { input: 0.165, output: 0.66 }
  "*": { input: 5, output: 15 }
pipelines:
  research: { maxUsd: 20, windowHours: 24 }
tenants:
  acme: { maxUsd: 500, maxTokens: 100000000 }
defaults:
  tenant: { maxUsd: 50 }
`;

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

describe('budget settings', () => {
  it('looks prices up by provider/model, then model, then *', () => {
    const s = loadSettings([{ variable: 'PW_BUDGET_CONFIG', path: 'budget.yaml', text: yaml }]);
    expect(s.priceOf({ provider: 'default', model: 'gpt-4o-mini' })).toEqual({ input: 0.15, cachedInput: 0.075, output: 0.6 });
    expect(s.priceOf({ provider: 'azure', model: 'gpt-4o-mini' })?.input).toBe(0.165);
    expect(s.priceOf({ provider: 'default', model: 'other' })?.input).toBe(5);
    expect(loadSettings([]).priceOf({ provider: 'default', model: 'x' })).toBeUndefined();
  });

  it('falls back to default limits for unlisted pipelines and tenants, with a 24-hour window', () => {
    const s = loadSettings([{ variable: 'PW_BUDGET_CONFIG', path: 'budget.yaml', text: yaml }]);
    expect(s.limitOf('tenant', 'acme')).toEqual({ maxUsd: 500, maxTokens: 100_000_000, windowHours: 24 });
    expect(s.limitOf('tenant', 'someone')).toEqual({ maxUsd: 50, windowHours: 24 });
    expect(s.limitOf('pipeline', 'unknown')).toBeUndefined();
    expect(s.windowHoursOf('pipeline', 'unknown')).toBe(24);
  });

  it('lets inline JSON replace file entries by key', () => {
    const s = loadSettings([
      { variable: 'PW_BUDGET_CONFIG', path: 'budget.yaml', text: yaml },
      { variable: 'PW_BUDGET_CONFIG_JSON', text: JSON.stringify({ tenants: { acme: { maxUsd: 1 } }, prices: { 'gpt-4o-mini': { input: 1, output: 1 } } }) },
    ]);
    expect(s.limitOf('tenant', 'acme')?.maxUsd).toBe(1);
    expect(s.priceOf({ provider: 'default', model: 'gpt-4o-mini' })?.cachedInput).toBeUndefined();
    expect(s.priceOf({ provider: 'azure', model: 'gpt-4o-mini' })?.input).toBe(0.165);
  });

  it('names the variable, the file and the bad field', () => {
    expect(errorOf(() => loadSettings([{ variable: 'PW_BUDGET_CONFIG', path: '/etc/b.yaml', text: 'prices:\n  m: { input: -1, output: 1 }\n' }]))).toContain('PW_BUDGET_CONFIG (/etc/b.yaml): prices.m.input');
    expect(errorOf(() => loadSettings([{ variable: 'PW_BUDGET_CONFIG_JSON', text: '{"tenants":{"a":{"maxUsd":1,"windowHour":2}}}' }]))).toContain('PW_BUDGET_CONFIG_JSON: tenants.a.windowHour: unknown field');
    expect(errorOf(() => loadSettings([{ variable: 'PW_BUDGET_CONFIG_JSON', text: '{not json' }]))).toContain('PW_BUDGET_CONFIG_JSON: cannot parse');
  });

  it('reads the file PW_BUDGET_CONFIG names and fails start-up on a bad variable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-budget-'));
    const file = join(dir, 'budget.yaml');
    writeFileSync(file, yaml);
    const cfg = loadConfig({ PW_BUDGET_CONFIG: file, PW_BUDGET_SWEEP_INTERVAL_MS: '' });
    expect(cfg.PW_BUDGET_SWEEP_INTERVAL_MS).toBe(5_000);
    expect(cfg.settings.limitOf('pipeline', 'research')?.maxUsd).toBe(20);
    expect(errorOf(() => loadConfig({ PW_BUDGET_CONFIG: join(dir, 'missing.yaml') }))).toContain('PW_BUDGET_CONFIG: cannot read');
    expect(errorOf(() => loadConfig({ PW_BUDGET_SWEEP_INTERVAL_MS: 'soon' }))).toContain('PW_BUDGET_SWEEP_INTERVAL_MS');
  });
});
