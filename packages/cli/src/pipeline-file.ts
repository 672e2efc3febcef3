import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/** Reads a pipeline spec from YAML or JSON; the spec itself is checked by the contracts. */
export function readPipelineFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read pipeline file ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    return parse(text) as unknown;
  } catch (err) {
    throw new Error(`${path} is not valid YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** `--input` takes inline JSON or `@file.json`. */
export function readInput(arg: string | undefined): Record<string, unknown> {
  if (arg === undefined) return {};
  const text = arg.startsWith('@') ? readFileSync(arg.slice(1), 'utf8') : arg;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`--input is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('--input must be a JSON object');
  return value as Record<string, unknown>;
}
