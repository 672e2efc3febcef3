import { SCHEMA_VERSION, type RunFinished, type RunSummary, type RunWebhook } from '@pipewright/contracts';
import type { WebhookEndpoint } from '../config.js';

/** The run as it ended: the summary known before, with what run.finished says. Pure. */
export function finishedSummary(base: RunSummary, ev: RunFinished): RunSummary {
  const { reason: _previous, ...rest } = base;
  const succeeded = ev.status === 'succeeded' ? base.steps.total : ev.partial ? Object.keys(ev.partial).length : base.steps.succeeded;
  return {
    ...rest,
    status: ev.status,
    finishedAt: ev.at,
    updatedAt: ev.at,
    costUsd: ev.costUsd,
    totalTokens: ev.usage.totalTokens,
    steps: { total: base.steps.total, succeeded },
    ...(ev.reason !== undefined ? { reason: ev.reason } : {}),
  };
}

/** Whether an endpoint wants this run: all its labels, one of its statuses. */
export function wants(e: WebhookEndpoint, run: RunSummary): boolean {
  if (e.statuses && !e.statuses.includes(run.status)) return false;
  for (const [k, v] of Object.entries(e.labels ?? {})) if (run.labels[k] !== v) return false;
  return true;
}

/** The body of one delivery; `id` is the same on every attempt, so a receiver can drop repeats. */
export function webhookBody(id: string, ev: RunFinished, run: RunSummary): RunWebhook {
  return { schemaVersion: SCHEMA_VERSION, id, type: 'run.finished', at: ev.at, run };
}

/** Delay before attempt `attempt + 1`: exponential with full jitter, capped. */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  return Math.round(random() * Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1)));
}
