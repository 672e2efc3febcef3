import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '@pipewright/cli';
import { describe, expect, it } from 'vitest';

/** Every `config.ts` under packages/ and services/ (not node_modules, not dist). */
function configFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name === 'test') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) configFiles(p, out);
    else if (name === 'config.ts') out.push(p);
  }
  return out;
}

/**
 * Variable names a config file reads: keys of the zod env objects (`  NAME: z…`) and any name with a
 * known prefix mentioned in it (`env['PW_SIM_PORT']`, `readVar('PW_BIN_DIR')`).
 */
function variablesIn(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const names = new Set<string>();
  for (const m of text.matchAll(/^\s+([A-Z][A-Z0-9_]{2,}):/gm)) names.add(m[1]!);
  for (const m of text.matchAll(/\b((?:PW|NATS|OTEL|MONGODB|OPENAI)_[A-Z0-9_]+)\b/g)) names.add(m[1]!);
  return [...names];
}

describe('docs/configuration.md', () => {
  it('documents every environment variable a service or the CLI reads', () => {
    const doc = readFileSync(`${REPO_ROOT}docs/configuration.md`, 'utf8');
    const files = [...configFiles(`${REPO_ROOT}packages`), ...configFiles(`${REPO_ROOT}services`)];
    expect(files.length).toBeGreaterThan(4);
    const missing: string[] = [];
    for (const f of files) for (const v of variablesIn(f)) if (!doc.includes(`\`${v}\``)) missing.push(`${v} (${f.slice(REPO_ROOT.length)})`);
    expect(missing).toEqual([]);
    // the extraction itself works (so this test can fail)
    expect(files.flatMap(variablesIn)).toEqual(expect.arrayContaining(['NATS_URL', 'PW_EXECUTOR_POOL', 'PW_BIN_DIR']));
  });
});
