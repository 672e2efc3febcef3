import { commonEnv, parseEnv } from '@pipewright/kit';
import { z } from 'zod';

/** The CLI connects like a service does (NATS_URL, credentials, TLS) and reads the store settings for `runs`. */
export function loadCliConfig(env: Readonly<Record<string, string | undefined>> = process.env) {
  return parseEnv(commonEnv.pick({ NATS_URL: true, NATS_USER: true, NATS_PASSWORD: true, NATS_TOKEN: true, NATS_CREDS: true, NATS_NKEY_SEED_FILE: true, NATS_TLS_CA: true, NATS_TLS_CERT: true, NATS_TLS_KEY: true, PW_STORE: true, MONGODB_URL: true, PW_MONGODB_DB: true, PW_REPLICAS: true, PW_DURABILITY: true, PW_RETENTION_MS: true }).extend({
    /** Where the approver's API is, for `pipewright approvals`. */
    PW_APPROVER_URL: z.url().optional(),
    PW_APPROVER_TOKEN: z.string().optional(),
  }), env);
}
export type CliConfig = ReturnType<typeof loadCliConfig>;

/** What a local stack's processes inherit: PATH and HOME, not the caller's whole environment (no stray NATS_URL). */
export function inheritedEnv(env: Readonly<Record<string, string | undefined>> = process.env): Record<string, string> {
  const keep: Record<string, string> = {};
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG']) {
    const v = env[k];
    if (v !== undefined) keep[k] = v;
  }
  return keep;
}
