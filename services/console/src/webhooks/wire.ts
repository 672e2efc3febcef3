import { consumers, RunFinished, streams, subjects, type RunSummary } from '@pipewright/contracts';
import { Counter, ensurePullConsumer, startConsumer, type ServiceRuntime } from '@pipewright/kit';
import type { ConsoleConfig, WebhookEndpoint } from '../config.js';
import type { ReadModel } from '../model/read-model.js';
import { summaryOfState } from '../reader/run-detail.js';
import { finishedSummary, retryDelayMs, wants, webhookBody } from './body.js';
import { postWebhook } from './post.js';

/** While the index catches up, a finished run may not be in it yet: the delivery waits this long. */
const INDEX_WAIT_MS = 1_000;

/**
 * Run-end webhooks from a durable consumer of `run.finished` (a crash loses no delivery: the message
 * is acknowledged only once every endpoint that wants it answered 2xx). A failed attempt is handed
 * back with an exponential, fully jittered delay; after the last attempt the kit's consumer copies the
 * event to the DLQ, and the give-up is logged and counted.
 */
export async function startWebhooks(rt: ServiceRuntime, cfg: ConsoleConfig, endpoints: readonly WebhookEndpoint[], model: ReadModel): Promise<void> {
  if (endpoints.length === 0) return;
  const deliveries = new Counter({
    name: 'pw_console_webhook_deliveries_total',
    help: 'Run-end webhook delivery attempts by outcome (success, failed: will retry, given_up: last attempt failed)',
    labelNames: ['outcome'],
    registers: [rt.registry],
  });
  const stores = await rt.stores(); // opened already by wireConsole
  // Each attempt posts to every endpoint still owed the delivery, one after another within AckWait.
  const ackWaitMs = endpoints.length * cfg.PW_CONSOLE_WEBHOOK_TIMEOUT_MS + 30_000;
  const common = { ackWaitMs, maxDeliver: cfg.PW_CONSOLE_WEBHOOK_MAX_ATTEMPTS };
  // `new`: a console deployed onto a stream of finished runs does not announce every one of them.
  await ensurePullConsumer(rt.jsm, { stream: streams.events.name, durable: consumers.consoleWebhooks, filterSubjects: [subjects.runEvent('*', 'run.finished')], deliverPolicy: 'new', ...common });
  rt.watchConsumer(streams.events.name, consumers.consoleWebhooks);
  /** Endpoints already served, per message, so a retry goes to the ones that failed only. */
  const served = new Map<number, Set<number>>();

  const consumer = await startConsumer({
    js: rt.js,
    service: 'console',
    stream: streams.events.name,
    durable: consumers.consoleWebhooks,
    schema: RunFinished,
    log: rt.log,
    concurrency: 16,
    spanName: 'run.finished webhook',
    ...common,
    handler: async (ev, ctx) => {
      if (!model.ready) return { kind: 'wait', delayMs: INDEX_WAIT_MS, reason: 'runs index catching up' };
      const base: RunSummary | undefined = model.summary(ev.runId) ?? (await stores.runs.get(ev.runId).then((r) => r && summaryOfState(r.value)));
      const run = finishedSummary(base ?? unknownRun(ev), ev);
      const id = `${ev.runId}.${ctx.seq}`;
      const body = JSON.stringify(webhookBody(id, ev, run));
      const done = served.get(ctx.seq) ?? new Set<number>();
      const failures: string[] = [];
      for (const [i, e] of endpoints.entries()) {
        if (done.has(i) || !wants(e, run)) continue;
        const r = await postWebhook({ url: e.url, secret: e.secret, id, body, attempt: ctx.deliveryCount, timeoutMs: cfg.PW_CONSOLE_WEBHOOK_TIMEOUT_MS, nowMs: Date.now() });
        if (r.ok) {
          done.add(i);
          deliveries.inc({ outcome: 'success' });
        } else failures.push(`${new URL(e.url).origin}: ${r.reason}`);
      }
      if (failures.length === 0) {
        served.delete(ctx.seq);
        return { kind: 'ack' };
      }
      served.set(ctx.seq, done);
      if (ctx.lastDelivery) {
        served.delete(ctx.seq);
        deliveries.inc({ outcome: 'given_up' }, failures.length);
        ctx.log.error({ runId: ev.runId, id, attempts: ctx.deliveryCount, failures }, 'run-end webhook given up after the last attempt (copied to the DLQ)');
      } else {
        deliveries.inc({ outcome: 'failed' }, failures.length);
        ctx.log.warn({ runId: ev.runId, id, attempt: ctx.deliveryCount, failures }, 'run-end webhook attempt failed; will retry');
      }
      return { kind: 'retry', delayMs: retryDelayMs(ctx.deliveryCount, cfg.PW_CONSOLE_WEBHOOK_BASE_DELAY_MS, cfg.PW_CONSOLE_WEBHOOK_MAX_DELAY_MS), reason: failures.join('; ') };
    },
  });
  rt.shutdown.add('webhooks', (graceMs) => consumer.stop(graceMs));
}

/** A run neither the index nor the store has any more: what its run.finished alone says. */
function unknownRun(ev: RunFinished): RunSummary {
  return { runId: ev.runId, status: ev.status, pipeline: '', tenant: 'default', labels: {}, createdAt: ev.at, updatedAt: ev.at, steps: { total: 0, succeeded: 0 }, costUsd: 0, totalTokens: 0 };
}
