import type { Logger } from '@pipewright/kit';
import type { WindowRef } from '../ledger/window-ledger.js';
import type { LedgerWriter } from '../ledger/writer.js';
import type { BudgetSettings } from '../settings.js';
import { ledgerKeys } from '../store/types.js';
import type { OpenMarks } from './open-marks.js';

/** What every budget handler works with. */
export interface LedgerContext {
  readonly writer: LedgerWriter;
  readonly settings: BudgetSettings;
  readonly marks: OpenMarks;
  /** How long finished reservation records are kept (the window in which repeats are recognised). */
  readonly retentionMs: number;
  readonly log: Logger;
  /** Age at which a `reserving` claim counts as abandoned (default STALE_RESERVING_MS; tests shorten it). */
  readonly staleReservingMs?: number;
  /**
   * A time before which every spend event has been booked (the spend consumer's progress, see
   * `BookingHorizon`). Absent where no events are consumed: the wall clock.
   */
  readonly bookedThrough?: () => number;
}

/**
 * Records that ended before this time may be pruned: the retention, counted back from the time up to
 * which spend events are booked. During a backlog (an outage of the service or of its store) nothing is
 * pruned until the events of that time are booked, so a redelivered event finds its record and counts
 * nothing, and a late commit finds the price it was granted at.
 */
export function recordsPruneBefore(ctx: LedgerContext, now = Date.now()): number {
  return Math.min(now, ctx.bookedThrough?.() ?? now) - ctx.retentionMs;
}

/** The pipeline and tenant windows a reservation counts against, with their configured limits. */
export function windowRefs(ctx: LedgerContext, pipeline: string, tenant: string): WindowRef[] {
  return [
    { scope: 'pipeline', id: pipeline, windowHours: ctx.settings.windowHoursOf('pipeline', pipeline), limit: ctx.settings.limitOf('pipeline', pipeline) },
    { scope: 'tenant', id: tenant, windowHours: ctx.settings.windowHoursOf('tenant', tenant), limit: ctx.settings.limitOf('tenant', tenant) },
  ];
}

export const windowKey = (w: Pick<WindowRef, 'scope' | 'id'>): string => (w.scope === 'pipeline' ? ledgerKeys.pipeline(w.id) : ledgerKeys.tenant(w.id));
