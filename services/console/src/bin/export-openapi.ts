#!/usr/bin/env node
/**
 * Writes the runs API's OpenAPI document to services/console/openapi.json, or with `--check` fails
 * (exit 1) when the committed file is missing or stale (scripts/test.sh runs the check).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderOpenApi } from '../openapi/document.js';

const file = fileURLToPath(new URL('../../openapi.json', import.meta.url));
const text = renderOpenApi();
let current: string | undefined;
try {
  current = readFileSync(file, 'utf8');
} catch {
  current = undefined;
}
if (process.argv.includes('--check')) {
  if (current !== text) {
    console.error('services/console/openapi.json is stale: run `node services/console/dist/bin/export-openapi.js` and commit it.');
    process.exit(1);
  }
  console.log('OpenAPI document up to date');
} else {
  writeFileSync(file, text);
  console.log(`wrote ${file}`);
}
