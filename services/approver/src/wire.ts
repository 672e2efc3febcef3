import { ApprovalRequest, consumers, streams, subjects } from '@pipewright/contracts';
import { getRequestListener } from '@hono/node-server';
import { ACK, announcer, ensurePullConsumer, Sessions, startConsumer, startHttpServer, type ServiceRuntime, type TokenSet } from '@pipewright/kit';
import { Background } from './approvals/background.js';
import { ApprovalEvents } from './approvals/events.js';
import { Approvals } from './approvals/service.js';
import { Sweeper } from './approvals/sweeper.js';
import type { ApproverConfig } from './config.js';
import { buildApp } from './http/app.js';
import { createApproverMetrics } from './metrics.js';
import { Notifier } from './notify/notifier.js';
import { loadDecisionSigner } from './security/signing-key.js';
import { openApproverStores } from './store/open.js';

/** Backoff of notification deliveries; the attempt count and per-attempt limit are configuration. */
const DELIVERY_BASE_DELAY_MS = 250;
const DELIVERY_MAX_DELAY_MS = 5_000;
const DELIVERY_DEADLINE_MS = 30_000;

/**
 * The approver, wired: the store, the request consumer (PW_APPROVALS, work queue), the sweeper that
 * enforces deadlines, and the HTTP server (API, inbox, Slack). Shutdown stops taking work first
 * (sweeper, consumer, HTTP), lets follow-up work finish, and closes the store last.
 */
export async function wireApprover(rt: ServiceRuntime, cfg: ApproverConfig, tokens: TokenSet): Promise<{ port: number }> {
  const stores = await openApproverStores(cfg, rt.nc);
  rt.shutdown.add('approver store', () => stores.close());
  const background = new Background(rt.log);
  rt.shutdown.add('follow-up work', (graceMs) => background.drain(graceMs));

  const notifier = new Notifier(
    {
      ...(cfg.PW_SLACK_WEBHOOK_URL ? { slackWebhookUrl: cfg.PW_SLACK_WEBHOOK_URL } : {}),
      ...(cfg.PW_SLACK_ESCALATION_WEBHOOK_URL ? { slackEscalationWebhookUrl: cfg.PW_SLACK_ESCALATION_WEBHOOK_URL } : {}),
      ...(cfg.PW_APPROVER_WEBHOOK_URL && cfg.PW_APPROVER_WEBHOOK_SECRET ? { webhook: { url: cfg.PW_APPROVER_WEBHOOK_URL, secret: cfg.PW_APPROVER_WEBHOOK_SECRET } } : {}),
      ...(cfg.PW_APPROVER_PUBLIC_URL ? { publicUrl: cfg.PW_APPROVER_PUBLIC_URL } : {}),
      ...(cfg.PW_JAEGER_UI_URL ? { jaegerUiUrl: cfg.PW_JAEGER_UI_URL } : {}),
    },
    { maxAttempts: cfg.PW_APPROVER_WEBHOOK_MAX_ATTEMPTS, attemptTimeoutMs: cfg.PW_APPROVER_WEBHOOK_TIMEOUT_MS, baseDelayMs: DELIVERY_BASE_DELAY_MS, maxDelayMs: DELIVERY_MAX_DELAY_MS, deadlineMs: DELIVERY_DEADLINE_MS },
  );
  const events = new ApprovalEvents(rt.js, loadDecisionSigner(cfg, rt.log));
  const metrics = createApproverMetrics(rt.registry, stores.approvals, rt.log);
  const approvals = new Approvals({ stores, events, notifier, background, log: rt.log, metrics });

  if (tokens.size === 0) rt.log.warn('no API tokens configured (PW_APPROVER_TOKENS, PW_APPROVER_TOKENS_FILE): the API and the inbox refuse every request');
  if (!cfg.PW_SLACK_SIGNING_SECRET) rt.log.info('PW_SLACK_SIGNING_SECRET unset: /slack/interactions refuses every request');
  const app = buildApp({
    approvals,
    tokens,
    sessions: new Sessions(tokens, cfg.PW_APPROVER_SESSION_TTL_MS, cfg.PW_APPROVER_SESSION_SECRET),
    notifier,
    background,
    log: rt.log,
    ...(cfg.PW_SLACK_SIGNING_SECRET ? { slack: { signingSecret: cfg.PW_SLACK_SIGNING_SECRET, ...(cfg.PW_SLACK_ALLOWED_USERS ? { allowedUsers: cfg.PW_SLACK_ALLOWED_USERS } : {}) } } : {}),
    ...(cfg.PW_APPROVER_PUBLIC_URL ? { publicUrl: cfg.PW_APPROVER_PUBLIC_URL } : {}),
  });
  const http = await startHttpServer(getRequestListener(app.fetch), cfg.PW_APPROVER_HOST, cfg.PW_APPROVER_PORT);
  rt.shutdown.add('approver http', () => http.close());
  // With PW_APPROVER_PORT=0 this line is the only place the bound port shows, so it prints at any level.
  announcer(rt.log).info({ port: http.port, store: stores.kind }, 'approver API and inbox listening');

  const common = { ackWaitMs: cfg.PW_APPROVER_ACK_WAIT_MS, maxDeliver: cfg.PW_APPROVER_MAX_DELIVER };
  await ensurePullConsumer(rt.jsm, { stream: streams.approvals.name, durable: consumers.approver, filterSubjects: [subjects.approvalRequest], ...common });
  rt.watchConsumer(streams.approvals.name, consumers.approver);
  const consumer = await startConsumer({
    js: rt.js,
    service: 'approver',
    stream: streams.approvals.name,
    durable: consumers.approver,
    schema: ApprovalRequest,
    log: rt.log,
    concurrency: cfg.PW_APPROVER_CONCURRENCY,
    spanName: subjects.approvalRequest,
    ...common,
    handler: async (req, ctx) => {
      ctx.span.setAttributes({ 'pw.run.id': req.runId, 'pw.step.id': req.stepId, 'pw.approval.id': req.approvalId });
      const r = await approvals.receive(req, ctx.header('traceparent'));
      ctx.log.info({ approvalId: req.approvalId, runId: req.runId, stepId: req.stepId, result: r }, 'approval requested');
      return ACK;
    },
  });
  rt.shutdown.add('approval requests', (graceMs) => consumer.stop(graceMs));

  const sweeper = new Sweeper({ approvals, stores, events, notifier, background, log: rt.log }, cfg.PW_APPROVER_SWEEP_INTERVAL_MS);
  sweeper.start();
  rt.shutdown.add('sweeper', () => sweeper.stop());
  return { port: http.port };
}
