import { commonEnv, envInt, envList, parseEnv } from '@pipewright/kit';
import { z } from 'zod';

const HOUR_MS = 3_600_000;

const approverEnv = commonEnv.extend({
  /** Port of the HTTP API, the web inbox and the Slack endpoint; 0 picks a free port. */
  PW_APPROVER_PORT: envInt(0, 65535).default(8080),
  PW_APPROVER_HOST: z.string().default('0.0.0.0'),
  /** API tokens as a comma list of `name:token`; the name is recorded as who decided. */
  PW_APPROVER_TOKENS: envList.optional(),
  /** A file of `name:token` entries (one a line or comma-separated), e.g. a mounted Kubernetes Secret. */
  PW_APPROVER_TOKENS_FILE: z.string().optional(),
  /** Key that signs inbox session cookies; unset derives one from the token set (every replica agrees). */
  PW_APPROVER_SESSION_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  /** How long an inbox login lasts. */
  PW_APPROVER_SESSION_TTL_MS: envInt(60_000, 30 * 24 * HOUR_MS).default(8 * HOUR_MS),
  /** The URL people reach the approver at (links in Slack and webhooks; the expected Origin of inbox forms). */
  PW_APPROVER_PUBLIC_URL: z.url().optional(),
  /** Jaeger's UI, to link each approval's trace id (`<url>/trace/<traceId>`). */
  PW_JAEGER_UI_URL: z.url().optional(),
  /** How often pending approvals are checked for passed deadlines (timeouts and escalations). */
  PW_APPROVER_SWEEP_INTERVAL_MS: envInt(50, 60_000).default(1_000),
  /** Approval requests handled at once by one process. */
  PW_APPROVER_CONCURRENCY: envInt(1, 1_000).default(16),
  PW_APPROVER_ACK_WAIT_MS: envInt(1_000, 600_000).default(30_000),
  PW_APPROVER_MAX_DELIVER: envInt(1, 1_000).default(10),
  /** Slack incoming webhook that receives each new approval with Approve / Reject buttons. */
  PW_SLACK_WEBHOOK_URL: z.url().optional(),
  /** Slack incoming webhook (another channel) that receives escalated approvals. */
  PW_SLACK_ESCALATION_WEBHOOK_URL: z.url().optional(),
  /** Signing secret of the Slack app; without it `/slack/interactions` refuses every request. */
  PW_SLACK_SIGNING_SECRET: z.string().min(1).optional(),
  /** Slack user ids allowed to decide (comma list); unset lets anyone in the channel decide. */
  PW_SLACK_ALLOWED_USERS: envList.optional(),
  /** Generic webhook: receives `approval.requested|escalated|decided` as signed JSON. */
  PW_APPROVER_WEBHOOK_URL: z.url().optional(),
  /** HMAC-SHA256 key of `X-Pipewright-Signature`; required with PW_APPROVER_WEBHOOK_URL. */
  PW_APPROVER_WEBHOOK_SECRET: z.string().min(16, 'at least 16 characters').optional(),
  /** Deliveries of one notification before it is given up (and recorded as failed in the audit trail). */
  PW_APPROVER_WEBHOOK_MAX_ATTEMPTS: envInt(1, 20).default(5),
  /** Time limit of one notification delivery attempt. */
  PW_APPROVER_WEBHOOK_TIMEOUT_MS: envInt(100, 60_000).default(5_000),
  /**
   * File with the nkey seed (`SU…`, or a .creds file) that signs every decision; the planner checks it
   * against PW_APPROVER_PUBLIC_KEYS. @default NATS_NKEY_SEED_FILE, else NATS_CREDS: the approver's bus identity
   */
  PW_APPROVER_SIGNING_KEY_FILE: z.string().optional(),
}).refine((e) => e.PW_APPROVER_WEBHOOK_URL === undefined || e.PW_APPROVER_WEBHOOK_SECRET !== undefined, {
  message: 'required when PW_APPROVER_WEBHOOK_URL is set',
  path: ['PW_APPROVER_WEBHOOK_SECRET'],
});

export type ApproverConfig = z.infer<typeof approverEnv>;

export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): ApproverConfig {
  return parseEnv(approverEnv, env);
}
