#!/usr/bin/env node
/**
 * Writes the JSON Schema of every published message to packages/contracts/schemas/, or with `--check`
 * fails (exit 1) when a committed file is missing or stale.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { publishedSchemas, renderJsonSchema } from '../json-schemas.js';

const dir = fileURLToPath(new URL('../../schemas/', import.meta.url));
const check = process.argv.includes('--check');
const stale: string[] = [];
mkdirSync(dir, { recursive: true });
for (const [name, schema] of Object.entries(publishedSchemas)) {
  const file = `${dir}${name}.json`;
  const text = renderJsonSchema(name, schema);
  let current: string | undefined;
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === text) continue;
  if (check) stale.push(`${name}.json`);
  else writeFileSync(file, text);
}
const known = new Set(Object.keys(publishedSchemas).map((n) => `${n}.json`));
const extra = readdirSync(dir).filter((f) => f.endsWith('.json') && !known.has(f));
if (check && (stale.length > 0 || extra.length > 0)) {
  console.error(`JSON Schemas are stale: ${[...stale, ...extra.map((e) => `${e} (no longer published)`)].join(', ')}`);
  console.error('Run `npm run schemas` and commit packages/contracts/schemas/.');
  process.exit(1);
}
console.log(check ? `JSON Schemas up to date (${known.size} files)` : `wrote ${known.size} JSON Schemas to ${dir}`);
