import { z } from 'zod';
import { ConfigError } from './errors.js';

/**
 * Environment parsing shared by every service's own config.ts. An empty variable means unset; a bad
 * value stops start-up with the variable's name and what was expected.
 */

type Env = Readonly<Record<string, string | undefined>>;

/** Parses `env` with a zod object whose keys are variable names. Empty strings count as unset. */
export function parseEnv<S extends z.ZodObject>(schema: S, env: Env): z.infer<S> {
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const v = env[key];
    if (v !== undefined && v.trim() !== '') cleaned[key] = v.trim();
  }
  const parsed = schema.safeParse(cleaned);
  if (parsed.success) return parsed.data;
  throw new ConfigError(parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(env)'}: ${i.message}`));
}

/** Integer with bounds, from a string variable. */
export const envInt = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** `true/false/1/0/yes/no`. */
export const envBool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** Comma-separated list of non-empty items. */
export const envList = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0),
);

/** Variables every service reads (connection, logging, telemetry, health, shutdown). */
export const commonEnv = z.object({
  /** Comma-separated server URLs. */
  NATS_URL: z.string().default('nats://127.0.0.1:4222'),
  NATS_USER: z.string().optional(),
  NATS_PASSWORD: z.string().optional(),
  NATS_TOKEN: z.string().optional(),
  /** Path of a .creds file (JWT + nkey seed). */
  NATS_CREDS: z.string().optional(),
  /** Path of a file holding an nkey seed (`SU…`). */
  NATS_NKEY_SEED_FILE: z.string().optional(),
  NATS_TLS_CA: z.string().optional(),
  NATS_TLS_CERT: z.string().optional(),
  NATS_TLS_KEY: z.string().optional(),
  PW_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Log prompt and completion text (off by default: they may hold personal data). */
  PW_LOG_CONTENT: envBool.default(false),
  /** Port of /healthz, /readyz and /metrics; 0 picks a free port; unset disables the server. */
  PW_HTTP_PORT: envInt(0, 65535).optional(),
  PW_HTTP_HOST: z.string().default('0.0.0.0'),
  /** How long a graceful shutdown may take before in-flight work is handed back and the process exits. */
  PW_SHUTDOWN_GRACE_MS: envInt(0, 600_000).default(10_000),
  /** OTLP HTTP endpoint, e.g. http://jaeger:4318; unset disables trace export. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url().optional(),
  OTEL_SERVICE_NAME: z.string().optional(),
  /** `otlp`: every log line is also exported as an OpenTelemetry log record (OTLP HTTP, `<endpoint>/v1/logs`). */
  OTEL_LOGS_EXPORTER: z.enum(['none', 'otlp']).default('none'),
  OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: z.url().optional(),
  /** Which store holds checkpoints: `kv` (NATS KV, the embedded default) or `mongo`. */
  PW_STORE: z.enum(['kv', 'mongo']).default('kv'),
  MONGODB_URL: z.string().optional(),
  PW_MONGODB_DB: z.string().default('pipewright'),
  /**
   * JetStream's duplicate window on every Pipewright stream: a publish repeating a Nats-Msg-Id within it
   * is dropped. Nothing depends on it for correctness (task logs are compare-and-set, and a republished
   * outbox only on its own event's redelivery); it bounds the memory the server keeps per stream.
   * @default 2 minutes
   */
  PW_DEDUPE_WINDOW_MS: envInt(1_000, 86_400_000).default(120_000),
  /**
   * `manage`: this service creates the PW_* streams and updates them to the definitions at start-up.
   * `verify`: it waits until they exist and leaves them alone — for every service but the planner when
   * the bus has per-role permissions (only the planner may create or update streams; docs/security.md).
   */
  PW_TOPOLOGY: z.enum(['manage', 'verify']).default('manage'),
  /** Replicas of the KV buckets and streams this service creates (1 for a single server, 3 for a cluster). */
  PW_REPLICAS: envInt(1, 5).default(1),
  /**
   * How hard a checkpoint write is pushed to disk before it counts as written: `default` (MongoDB
   * w:majority; nats-server's own flush interval) or `strict` (MongoDB w:majority + journal; run
   * nats-server with `sync_interval: always`). See docs/durability.md.
   */
  PW_DURABILITY: z.enum(['default', 'strict']).default('default'),
  /** Finished runs (with their steps, decisions and blobs) older than this are removed. @default 7 days */
  PW_RETENTION_MS: envInt(60_000, 3_650 * 86_400_000).default(7 * 86_400_000),
  /** How often a service sweeps finished runs past retention where the store has no TTL index; 0 disables it. @default 10 minutes */
  PW_RETENTION_SWEEP_MS: envInt(0, 86_400_000).default(600_000),
});
export type CommonConfig = z.infer<typeof commonEnv>;
