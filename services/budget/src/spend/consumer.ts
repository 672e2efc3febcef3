import { BUDGET_SPEND_SUBJECTS, consumers, RunId, Spend, streams } from '@pipewright/contracts';
import { ACK, ensurePullConsumer, startConsumer, type ConsumerHandle, type ServiceRuntime } from '@pipewright/kit';
import { z } from 'zod';
import type { BudgetMetrics } from '../metrics.js';
import type { LedgerContext } from '../service/context.js';
import { bookSpend } from './book.js';

/** The durable consumer every budget replica pulls spend events from. */
export const SPEND_CONSUMER = consumers.budgetSpend;

/** The events that carry a task's spending: its results, its parks, and the spending of a delivery that lost it. */
export const SPEND_TYPES = ['step.completed', 'step.failed', 'step.parked', 'task.spent'] as const;
const SPEND_SUBJECTS = [...BUDGET_SPEND_SUBJECTS];
const isSpendType = (t: string): boolean => (SPEND_TYPES as readonly string[]).includes(t);

/** How long a delivered event may go unacknowledged (the consume loop heartbeats while it books). */
const ACK_WAIT_MS = 30_000;
/** Events one replica books at once; their ledger writes are grouped per document. */
const CONCURRENCY = 64;

/**
 * What the budget reads of a task event. The rest of it is the planner's: decoding only this part keeps
 * a field added to a result from stopping the bookings. A spend entry that does not decode is refused
 * with its event (DLQ), as is anything that is not JSON or names no run.
 */
const SpendReport = z.object({ type: z.string(), runId: RunId, spend: z.array(Spend).max(1_000).optional() });

/**
 * Books the spending the executor reports with each task's result, from PW_EVENTS. The events are
 * durable, so no outage of the budget service (or its store) loses a booking: they wait in the stream
 * and are booked when it is back. A store error is retried with backoff for as long as it lasts
 * (max_deliver -1), never dropped to the DLQ; the event is acknowledged once every entry is booked.
 *
 * A new consumer starts with the events published after its creation (deliver policy `new`): PW_EVENTS
 * keeps weeks of results, and replaying them would book again spend whose reservation records were
 * pruned long ago, or that was committed by request before this version. Nothing is missed by that:
 * spend is reported only for reservations this service granted, and it creates the consumer before it
 * answers its first reserve (main.ts). When upgrading from a version without it, upgrade the budget
 * service before the executors.
 */
export async function startSpendConsumer(rt: Pick<ServiceRuntime, 'js' | 'jsm' | 'log'> & Partial<Pick<ServiceRuntime, 'watchConsumer'>>, ctx: LedgerContext, metrics: Pick<BudgetMetrics, 'booked' | 'committedUsd'>): Promise<ConsumerHandle> {
  const common = { ackWaitMs: ACK_WAIT_MS, maxDeliver: -1 };
  await ensurePullConsumer(rt.jsm, { stream: streams.events.name, durable: SPEND_CONSUMER, filterSubjects: SPEND_SUBJECTS, deliverPolicy: 'new', ...common });
  rt.watchConsumer?.(streams.events.name, SPEND_CONSUMER);
  return startConsumer({
    js: rt.js,
    service: 'budget',
    stream: streams.events.name,
    durable: SPEND_CONSUMER,
    schema: SpendReport,
    log: rt.log,
    concurrency: CONCURRENCY,
    spanName: 'pw.events.spend',
    spanNameOf: (report) => `${report.type} spend`,
    traceIf: (report) => isSpendType(report.type) && (report.spend?.length ?? 0) > 0,
    ...common,
    handler: async (report, mctx) => {
      if (!isSpendType(report.type) || !report.spend?.length) return ACK;
      mctx.span.setAttribute('pw.run.id', report.runId);
      const booked = await bookSpend(ctx, report.runId, report.spend);
      metrics.booked.inc({ outcome: 'committed' }, booked.committed);
      metrics.booked.inc({ outcome: 'released' }, booked.released);
      metrics.booked.inc({ outcome: 'repeated' }, booked.repeated);
      metrics.committedUsd.inc(booked.chargedUsd);
      mctx.log.debug({ runId: report.runId, type: report.type, ...booked }, 'spend booked');
      return ACK;
    },
  });
}
