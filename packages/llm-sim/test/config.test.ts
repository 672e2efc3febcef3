import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readProcessConfig } from '../src/config.js';
import { loadSimConfig, parseSimConfig, SimConfigError } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'llm-sim-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof SimConfigError) return err.field;
    throw err;
  }
  throw new Error('expected a SimConfigError');
}

describe('sim config', () => {
  it('loads the documented YAML shape', () => {
    const config = loadSimConfig(
      file(
        'sim.yaml',
        `models: [sim-small, sim-large]
latency: { fixedMs: 5, minMs: 0, maxMs: 10 }
faults:
  rate429: 0.1
  retryAfterS: 2
  rate500: 0.05
  rateHang: 0.01
  perModel: { sim-large: { down: true, rate500: 0.5 } }
seed: 42
scripts:
  - match: { contains: refund, key: "run-1:" }
    replies: [{ fault: "500" }, { json: { action: refund } }]
  - match: { model: sim-small }
    reply: { toolCalls: [{ name: lookup, arguments: { id: 7 } }] }
`,
      ),
    );
    expect(config.models).toEqual(['sim-small', 'sim-large']);
    expect(config.faults?.perModel?.['sim-large']).toEqual({ down: true, rate500: 0.5 });
    expect(config.scripts?.[0]?.replies?.[1]).toEqual({ json: { action: 'refund' } });
  });

  it('loads JSON files', () => {
    expect(loadSimConfig(file('sim.json', '{"seed": 3, "latency": {"meanMs": 10, "jitterMs": 2}}'))).toEqual({ seed: 3, latency: { meanMs: 10, jitterMs: 2 } });
  });

  it('names the bad field', () => {
    expect(fieldOf(() => parseSimConfig({ faults: { rate500: 1.5 } }))).toBe('faults.rate500');
    expect(fieldOf(() => parseSimConfig({ faults: { perModel: { x: { down: 'yes' } } } }))).toBe('faults.perModel.x.down');
    expect(fieldOf(() => parseSimConfig({ scripts: [{ reply: { fault: 'boom' } }] }))).toBe('scripts.0.reply.fault');
    expect(fieldOf(() => parseSimConfig({ scripts: [{ reply: { content: 'a' }, replies: [{ content: 'b' }] }] }))).toBe('scripts.0.replies');
    expect(fieldOf(() => parseSimConfig({ latency: { minMs: 10, maxMs: 5 } }))).toBe('latency.minMs');
    expect(fieldOf(() => parseSimConfig({ seed: 1.5 }))).toBe('seed');
    expect(fieldOf(() => parseSimConfig({ modles: ['x'] }))).toBe('modles');
    expect(fieldOf(() => parseSimConfig({ faults: { rate429: 0.6, rate500: 0.6 } }))).toBe('faults');
    expect(fieldOf(() => parseSimConfig({ faults: { rate429: 0.6, perModel: { m: { rate503: 0.6 } } } }))).toBe('faults.perModel.m');
  });

  it('reports the file and field for a bad file, and unreadable or unparseable files', () => {
    const path = file('bad.yaml', 'faults:\n  rateDrop: lots\n');
    expect(() => loadSimConfig(path)).toThrow(/bad\.yaml: .*faults\.rateDrop/);
    expect(() => loadSimConfig(join(dir, 'missing.yaml'))).toThrow(/cannot read sim config/);
    expect(() => loadSimConfig(file('broken.json', '{"seed": '))).toThrow(/cannot parse sim config/);
  });

  it('treats an empty file as an empty config', () => {
    expect(loadSimConfig(file('empty.yaml', ''))).toEqual({});
  });
});

describe('process config', () => {
  it('prefers flags over env, treats empty env as unset and rejects bad ports', () => {
    expect(readProcessConfig([], {})).toEqual({ port: 0, host: '127.0.0.1', configPath: undefined, help: false });
    expect(readProcessConfig(['--port', '8080', '--config', 'a.yaml'], { PW_SIM_PORT: '9090', PW_SIM_CONFIG: 'b.yaml' })).toMatchObject({ port: 8080, configPath: 'a.yaml' });
    expect(readProcessConfig([], { PW_SIM_PORT: '9090', PW_SIM_CONFIG: '', PW_SIM_HOST: '0.0.0.0' })).toMatchObject({ port: 9090, configPath: undefined, host: '0.0.0.0' });
    expect(() => readProcessConfig([], { PW_SIM_PORT: 'abc' })).toThrow(/PW_SIM_PORT/);
    expect(() => readProcessConfig(['--port', '70000'], {})).toThrow(/--port/);
    expect(() => readProcessConfig(['--bogus'], {})).toThrow();
  });
});
