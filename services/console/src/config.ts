import { readFileSync } from 'node:fs';
import { RunStatus } from '@pipewright/contracts';
import { commonEnv, ConfigError, envInt, envList, errorMessage, parseEnv } from '@pipewright/kit';
import { z } from 'zod';

const HOUR_MS = 3_600_000;

/** One run-end webhook endpoint: where to POST, the HMAC key, and which runs it wants. */
export const WebhookEndpoint = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  /** HMAC-SHA256 key of `Pw-Signature`. */
  secret: z.string().min(16, 'at least 16 characters'),
  /** Only runs carrying all these labels. */
  labels: z.record(z.string().max(64), z.string().max(256)).optional(),
  /** Only runs that ended with one of these statuses. */
  statuses: z.array(RunStatus).min(1).optional(),
});
export type WebhookEndpoint = z.infer<typeof WebhookEndpoint>;

const consoleEnv = commonEnv.extend({
  /** Port of the runs API (and the dashboard); 0 picks a free port. */
  PW_CONSOLE_PORT: envInt(0, 65535).default(8070),
  PW_CONSOLE_HOST: z.string().default('0.0.0.0'),
  /** API tokens as a comma list of `name:role:token`, role `read` or `operate`; the name is recorded as who acted. */
  PW_CONSOLE_TOKENS: envList.optional(),
  /** A file of `name:role:token` entries (one a line or comma-separated), e.g. a mounted Kubernetes Secret. */
  PW_CONSOLE_TOKENS_FILE: z.string().optional(),
  /** Key that signs dashboard session cookies; unset derives one from the token set (every replica agrees). */
  PW_CONSOLE_SESSION_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  /** How long a dashboard login lasts. */
  PW_CONSOLE_SESSION_TTL_MS: envInt(60_000, 30 * 24 * HOUR_MS).default(8 * HOUR_MS),
  /** The URL people reach the console at (the expected Origin of dashboard forms). */
  PW_CONSOLE_PUBLIC_URL: z.url().optional(),
  /** Jaeger's UI, to link each run's trace (`<url>/trace/<traceId>`). */
  PW_JAEGER_UI_URL: z.url().optional(),
  /** The approver's inbox (e.g. http://approver:8080/inbox), to link pending approvals to. */
  PW_CONSOLE_INBOX_URL: z.url().optional(),
  /** Run-end webhooks: a JSON list of `{url, secret, labels?, statuses?}`. */
  PW_CONSOLE_WEBHOOKS: z.string().optional(),
  /** A file holding the same JSON list (a mounted Secret: the secrets stay out of the environment). */
  PW_CONSOLE_WEBHOOKS_FILE: z.string().optional(),
  /** Deliveries of one webhook before it is given up (logged, counted, copied to the DLQ). */
  PW_CONSOLE_WEBHOOK_MAX_ATTEMPTS: envInt(1, 50).default(8),
  /** Time limit of one delivery attempt. */
  PW_CONSOLE_WEBHOOK_TIMEOUT_MS: envInt(100, 60_000).default(5_000),
  /** First retry delay cap; each later attempt doubles it (full jitter), up to PW_CONSOLE_WEBHOOK_MAX_DELAY_MS. */
  PW_CONSOLE_WEBHOOK_BASE_DELAY_MS: envInt(10, 600_000).default(1_000),
  PW_CONSOLE_WEBHOOK_MAX_DELAY_MS: envInt(10, 3_600_000).default(300_000),
  /** Most runs the index holds; past it the oldest finished runs are dropped from the index (not the store). */
  PW_CONSOLE_INDEX_MAX_RUNS: envInt(1_000, 10_000_000).default(200_000),
  /** How long an Idempotency-Key is remembered (the KV bucket's max age). @default 24 hours */
  PW_CONSOLE_IDEMPOTENCY_TTL_MS: envInt(60_000, 30 * 24 * HOUR_MS).default(24 * HOUR_MS),
  /** Largest request body accepted. @default 1 MiB */
  PW_CONSOLE_MAX_BODY_BYTES: envInt(1_024, 16 * 1024 * 1024).default(1024 * 1024),
  /** Event streams (SSE) served at once; past it a new one is refused with 503 until one closes. */
  PW_CONSOLE_MAX_STREAMS: envInt(1, 100_000).default(1_000),
  /** Origins allowed to call the API from a browser (CORS); unset: none (CORS off). */
  PW_CONSOLE_CORS_ORIGINS: envList.optional(),
});

export type ConsoleConfig = z.infer<typeof consoleEnv>;

export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): ConsoleConfig {
  return parseEnv(consoleEnv, env);
}

/** The webhook endpoints of PW_CONSOLE_WEBHOOKS and PW_CONSOLE_WEBHOOKS_FILE; a bad one is a ConfigError naming it. */
export function loadWebhooks(cfg: Pick<ConsoleConfig, 'PW_CONSOLE_WEBHOOKS' | 'PW_CONSOLE_WEBHOOKS_FILE'>): WebhookEndpoint[] {
  const out: WebhookEndpoint[] = [];
  const read = (variable: string, text: string) => {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new ConfigError([`${variable}: not JSON: ${errorMessage(err)}`]);
    }
    const parsed = z.array(WebhookEndpoint).max(100).safeParse(raw);
    if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${variable}: [${i.path.map(String).join('.')}] ${i.message}`));
    out.push(...parsed.data);
  };
  if (cfg.PW_CONSOLE_WEBHOOKS !== undefined) read('PW_CONSOLE_WEBHOOKS', cfg.PW_CONSOLE_WEBHOOKS);
  if (cfg.PW_CONSOLE_WEBHOOKS_FILE !== undefined) {
    let text: string;
    try {
      text = readFileSync(cfg.PW_CONSOLE_WEBHOOKS_FILE, 'utf8');
    } catch (err) {
      throw new ConfigError([`PW_CONSOLE_WEBHOOKS_FILE: cannot read ${cfg.PW_CONSOLE_WEBHOOKS_FILE}: ${errorMessage(err)}`]);
    }
    read('PW_CONSOLE_WEBHOOKS_FILE', text);
  }
  return out;
}
