import { createLogger } from '@pipewright/kit';
import { BudgetReserveRequest, SCHEMA_VERSION } from '@pipewright/contracts';
import { BudgetSettings, LedgerWriter, OpenMarks, reserve, type LedgerContext, type LedgerStore } from '../src/index.js';

/** Test helpers for the budget's request handlers run in-process, as two replicas on one store. */
export const log = createLogger('budget-test', 'silent');
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What a slowed store does to the keys it matches while `active`: answer late, or fail after the delay. */
export interface Stall {
  active: boolean;
  match: (key: string) => boolean;
  delayMs: number;
  fail?: boolean;
}

/**
 * A store that works on chosen keys as a slow replica would: the operation is done at once (a read sees
 * the document as it is now) but its answer comes `delayMs` later, or is an error.
 */
export function slowed(store: LedgerStore, stall: Stall): LedgerStore {
  const late = async <T>(key: string, op: () => Promise<T>): Promise<T> => {
    if (!stall.active || !stall.match(key)) return op();
    const out = await op();
    await sleep(stall.delayMs);
    if (stall.fail) throw new Error(`store stalled on ${key}`);
    return out;
  };
  return {
    kind: store.kind,
    ...(store.maxCacheAgeMs !== undefined ? { maxCacheAgeMs: store.maxCacheAgeMs } : {}),
    get: (key) => late(key, () => store.get(key)),
    create: (key, text) => late(key, () => store.create(key, text)),
    update: (key, text, version) => late(key, () => store.update(key, text, version)),
    markOpen: (runId) => store.markOpen(runId),
    clearOpen: (runId) => store.clearOpen(runId),
    openRuns: (limit) => store.openRuns(limit),
    close: () => Promise.resolve(),
  };
}

/** The price table of these tests: a reservation of 100 prompt + 50 output tokens holds $0.0002. */
export const PRICES = { 'sim-small': { input: 1, output: 2 } };
export const RESERVATION_USD = 0.0002;

export function settingsWith(tenants: Record<string, { maxUsd: number }>): BudgetSettings {
  const t = Object.fromEntries(Object.entries(tenants).map(([k, v]) => [k, { ...v, windowHours: 24 }]));
  return new BudgetSettings({ prices: PRICES, pipelines: {}, tenants: t, defaults: {} });
}

export function contextFor(store: LedgerStore, settings: BudgetSettings, opts: { staleReservingMs?: number; deadlineMs?: number } = {}): LedgerContext {
  return {
    writer: new LedgerWriter(store, log, opts.deadlineMs),
    settings,
    marks: new OpenMarks(store, log),
    retentionMs: 600_000,
    log,
    ...(opts.staleReservingMs !== undefined ? { staleReservingMs: opts.staleReservingMs } : {}),
  };
}

export const reserveRequest = (runId: string, tenant: string, pipeline: string): BudgetReserveRequest =>
  BudgetReserveRequest.parse({
    schemaVersion: SCHEMA_VERSION,
    reservationId: `${runId}:s:1:1`,
    runId,
    stepId: 's',
    tenant,
    pipeline,
    model: { provider: 'default', model: 'sim-small' },
    estimatedInputTokens: 100,
    maxOutputTokens: 50,
    leaseMs: 60_000,
  });

/** A repeated reserve, as the client would send it again while the answer is `in_progress`. */
export async function reserveUntilDecided(ctx: LedgerContext, req: BudgetReserveRequest) {
  for (let i = 0; i < 100; i++) {
    const r = await reserve(ctx, req);
    if (r.outcome !== 'error' || r.error.code !== 'in_progress') return r;
    await sleep(50);
  }
  throw new Error('still in progress after 100 tries');
}
