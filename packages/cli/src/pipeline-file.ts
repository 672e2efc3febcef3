import { readFileSync } from 'node:fs';
import { errorMessage } from '@pipewright/kit';
import { parse } from 'yaml';
import { UsageError } from './cli/errors.js';

/** A pipeline or input file larger than this is refused: a spec is a few KiB, an input rarely more than a few MiB. */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

function readText(path: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${what} ${path}: ${errorMessage(err)}`);
  }
  if (Buffer.byteLength(text) > MAX_FILE_BYTES) throw new UsageError(`${what} ${path} is larger than ${MAX_FILE_BYTES} bytes`);
  return text;
}

/** Reads a pipeline spec from YAML or JSON; the spec itself is checked by the contracts. */
export function readPipelineFile(path: string): unknown {
  const text = readText(path, 'pipeline file');
  try {
    return parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`${path} is not valid YAML: ${errorMessage(err)}`);
  }
}

/** A flag that takes inline JSON or `@file.json` (`flag` names it in errors). */
export function readJsonArg(arg: string, flag: string): unknown {
  const text = arg.startsWith('@') ? readText(arg.slice(1), `${flag} file`) : arg;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`${flag} is not JSON: ${errorMessage(err)}`);
  }
}

/** `--input` takes inline JSON or `@file.json`. */
export function readInput(arg: string | undefined): Record<string, unknown> {
  if (arg === undefined) return {};
  const value = readJsonArg(arg, '--input');
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new UsageError('--input must be a JSON object');
  return value as Record<string, unknown>;
}
