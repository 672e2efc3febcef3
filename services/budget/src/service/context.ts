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
}

/** The pipeline and tenant windows a reservation counts against, with their configured limits. */
export function windowRefs(ctx: LedgerContext, pipeline: string, tenant: string): WindowRef[] {
  return [
    { scope: 'pipeline', id: pipeline, windowHours: ctx.settings.windowHoursOf('pipeline', pipeline), limit: ctx.settings.limitOf('pipeline', pipeline) },
    { scope: 'tenant', id: tenant, windowHours: ctx.settings.windowHoursOf('tenant', tenant), limit: ctx.settings.limitOf('tenant', tenant) },
  ];
}

export const windowKey = (w: Pick<WindowRef, 'scope' | 'id'>): string => (w.scope === 'pipeline' ? ledgerKeys.pipeline(w.id) : ledgerKeys.tenant(w.id));
