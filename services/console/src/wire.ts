import { getRequestListener } from '@hono/node-server';
import { announcer, Gauge, startHttpServer, type ServiceRuntime } from '@pipewright/kit';
import type { ConsoleTokens } from './auth.js';
import type { ConsoleConfig, WebhookEndpoint } from './config.js';
import { buildApp, type AppOptions } from './http/app.js';
import { ReadModel } from './model/read-model.js';
import { openApiDocument } from './openapi/document.js';
import { IdempotencyKeys } from './operator/idempotency.js';
import { Operator } from './operator/operator.js';
import type { ConsolePorts } from './ports.js';
import { StoreRunReader } from './reader/reader.js';
import { openConsoleStores } from './stores.js';
import { registryReader } from './tools/registry-reader.js';
import { startWebhooks } from './webhooks/wire.js';

/** How often finished runs past retention leave the index. */
const INDEX_SWEEP_MS = 60_000;

/** Mounts the dashboard (built against ConsolePorts, see ports.ts), when the service has one. */
export type DashboardMount = (ports: ConsolePorts, cfg: ConsoleConfig, tokens: ConsoleTokens) => AppOptions['mount'];

/**
 * The console, wired: the read model (an ordered consumer of PW_EVENTS), the reader (store and
 * events), the operator (requests to PW_RUNS, idempotency keys in KV), the HTTP API, and the webhook
 * deliverer. /readyz says ready only once the index has caught up with the stream.
 */
export async function wireConsole(rt: ServiceRuntime, cfg: ConsoleConfig, tokens: ConsoleTokens, webhooks: readonly WebhookEndpoint[], dashboard?: DashboardMount): Promise<{ port: number; model: ReadModel }> {
  const stores = await openConsoleStores(rt);
  const keys = await IdempotencyKeys.open(rt.nc, { ttlMs: cfg.PW_CONSOLE_IDEMPOTENCY_TTL_MS, replicas: cfg.PW_REPLICAS });

  const model = new ReadModel({ maxRuns: cfg.PW_CONSOLE_INDEX_MAX_RUNS, retentionMs: cfg.PW_RETENTION_MS }, rt.log);
  await model.start(rt.js);
  rt.shutdown.add('runs index', () => Promise.resolve(model.stop()));
  new Gauge({
    name: 'pw_console_index_runs',
    help: 'Runs in the console index',
    registers: [rt.registry],
    collect() {
      this.set(model.index.size);
    },
  });
  new Gauge({
    name: 'pw_console_index_last_seq',
    help: 'PW_EVENTS sequence of the last event the index read (compare with the stream last sequence for its lag)',
    registers: [rt.registry],
    collect() {
      this.set(model.lastSeq);
    },
  });
  const sweep = setInterval(() => model.sweep(Date.now()), INDEX_SWEEP_MS);
  sweep.unref();
  rt.shutdown.add('runs index sweep', () => Promise.resolve(clearInterval(sweep)));

  const reader = new StoreRunReader(rt.js, stores, cfg.PW_JAEGER_UI_URL, async (runId) => {
    const r = await keys.get(IdempotencyKeys.runKey(runId));
    return r && { request: { ...r.request, runId: r.runId }, at: r.at };
  });
  const operator = new Operator({ js: rt.js, stores, keys, unfinishedWith: (labels) => model.unfinishedWith(labels), log: rt.log });
  const ports: ConsolePorts = {
    auth: tokens,
    model,
    reader,
    operator,
    tools: registryReader(rt.nc, rt.log),
    ...(cfg.PW_JAEGER_UI_URL ? { jaegerUrl: cfg.PW_JAEGER_UI_URL } : {}),
    ...(cfg.PW_CONSOLE_INBOX_URL ? { inboxUrl: cfg.PW_CONSOLE_INBOX_URL } : {}),
  };
  if (tokens.size === 0) rt.log.warn('no API tokens configured (PW_CONSOLE_TOKENS, PW_CONSOLE_TOKENS_FILE): the API refuses every request');
  const mount = dashboard?.(ports, cfg, tokens);
  const app = buildApp(ports, {
    log: rt.log,
    registry: rt.registry,
    maxBodyBytes: cfg.PW_CONSOLE_MAX_BODY_BYTES,
    maxStreams: cfg.PW_CONSOLE_MAX_STREAMS,
    openapi: openApiDocument,
    ...(cfg.PW_CONSOLE_CORS_ORIGINS ? { corsOrigins: cfg.PW_CONSOLE_CORS_ORIGINS } : {}),
    ...(mount ? { mount } : {}),
    knows: async (runId) => model.summary(runId) !== undefined || (await reader.exists(runId)) || (await keys.get(IdempotencyKeys.runKey(runId))) !== undefined,
  });
  const http = await startHttpServer(getRequestListener(app.fetch), cfg.PW_CONSOLE_HOST, cfg.PW_CONSOLE_PORT);
  rt.shutdown.add('console http', () => http.close());
  // With PW_CONSOLE_PORT=0 this line is the only place the bound port shows, so it prints at any level.
  announcer(rt.log).info({ port: http.port, store: stores.kind }, 'console API listening');

  await startWebhooks(rt, cfg, webhooks, model);
  return { port: http.port, model };
}
