import { commonEnv, ConfigError, parseEnv } from '@pipewright/kit';
import { z } from 'zod';
import { UsageError } from './cli/errors.js';

type Env = Readonly<Record<string, string | undefined>>;

const CliEnv = commonEnv
  .pick({ NATS_URL: true, NATS_USER: true, NATS_PASSWORD: true, NATS_TOKEN: true, NATS_CREDS: true, NATS_NKEY_SEED_FILE: true, NATS_TLS_CA: true, NATS_TLS_CERT: true, NATS_TLS_KEY: true })
  .extend({
    /** Where the approver's API is, for `pipewright approvals`. */
    PW_APPROVER_URL: z.url().optional(),
    PW_APPROVER_TOKEN: z.string().optional(),
    /** Where the console's runs API is (`/api/v1` below it), for `pipewright runs`. */
    PW_CONSOLE_URL: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).optional(),
    /** A bearer token of the console (`read` lists and shows; `operate` also cancels, resumes, re-runs). */
    PW_CONSOLE_TOKEN: z.string().max(4096).optional(),
  });

/**
 * The CLI connects like a service does (NATS_URL, credentials, TLS) and reaches the console and the
 * approver over HTTP. A bad variable is a usage error naming it (exit 2), before anything is sent.
 */
export function loadCliConfig(env: Env = process.env) {
  try {
    return parseEnv(CliEnv, env);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(`invalid configuration: ${err.problems.join('; ')}`);
    throw err;
  }
}
export type CliConfig = ReturnType<typeof loadCliConfig>;

const OutputEnv = z.object({
  /** Set (not empty): no colours (https://no-color.org). */
  NO_COLOR: z.string().optional(),
  /** Set: colours even when stdout is not a terminal (`0` or `false`: never). */
  FORCE_COLOR: z.string().optional(),
  TERM: z.string().optional(),
});
export type OutputSettings = z.infer<typeof OutputEnv>;

/** What decides colours. Never fails: a terminal setting is no reason to refuse a command. */
/** The process's environment: read here, and handed to every command from the entry point. */
export function processEnv(): Env {
  return process.env;
}

export function loadOutputSettings(env: Env = process.env): OutputSettings {
  return parseEnv(OutputEnv, env);
}

/** What a local stack's processes inherit: PATH and HOME, not the caller's whole environment (no stray NATS_URL). */
export function inheritedEnv(env: Env = process.env): Record<string, string> {
  const keep: Record<string, string> = {};
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG']) {
    const v = env[k];
    if (v !== undefined) keep[k] = v;
  }
  return keep;
}
