// Decoding a SimConfig at the boundary: from a value (admin API, programmatic use) or from a YAML or
// JSON file. Errors name the offending field so that a broken chaos config fails loudly and clearly.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { SimConfigSchema } from './sim-config.js';
import type { SimConfig } from './sim-config.js';

/** A configuration that failed validation. `field` is the dotted path of the first bad field. */
export class SimConfigError extends Error {
  override readonly name = 'SimConfigError';
  constructor(
    message: string,
    /** Dotted path of the offending field, e.g. `faults.rate429`; empty for the whole document. */
    readonly field: string,
  ) {
    super(message);
  }
}

function fieldOf(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String);
  // An unknown key is reported on its parent; name the key itself.
  if (issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined) path.push(issue.keys[0]);
  return path.join('.');
}

/** Validates `value` as a SimConfig; throws SimConfigError naming the first bad field. */
export function parseSimConfig(value: unknown): SimConfig {
  const result = SimConfigSchema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue === undefined) throw new SimConfigError('invalid sim config', '');
  const field = fieldOf(issue);
  throw new SimConfigError(`invalid sim config: ${field || '(root)'}: ${issue.message}`, field);
}

/** Reads and validates a YAML (`.yaml`/`.yml`) or JSON file. */
export function loadSimConfig(path: string): SimConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SimConfigError(`cannot read sim config ${path}: ${(err as Error).message}`, '');
  }
  let raw: unknown;
  try {
    raw = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new SimConfigError(`cannot parse sim config ${path}: ${(err as Error).message}`, '');
  }
  try {
    return parseSimConfig(raw);
  } catch (err) {
    if (err instanceof SimConfigError) throw new SimConfigError(`${path}: ${err.message}`, err.field);
    throw err;
  }
}
