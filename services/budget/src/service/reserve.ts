import { SCHEMA_VERSION, type BudgetLimitName, type BudgetReserveReply, type BudgetReserveRequest } from '@pipewright/contracts';
import { claimOp, finalizeOp, dropClaimOp, runCodec, type Finalize, type ReservationRecord } from '../ledger/run-ledger.js';
import { dropHoldOp, holdOp, windowCodec, type HoldResult, type WindowRef } from '../ledger/window-ledger.js';
import { nanoToUsd, reservationAmount } from '../money.js';
import { ledgerKeys } from '../store/types.js';
import { windowKey, windowRefs, type LedgerContext } from './context.js';

/** A `reserving` record older than this belongs to a handler that died; a repeated request takes over. */
export const STALE_RESERVING_MS = 2_000;
const POLL_MS = 10;

/**
 * Reserves budget for one model call. The run's record is claimed and the pipeline and tenant holds are
 * added at the same time (three documents, one round trip); the reservation is granted only if all three
 * allow it, and holds taken for a denied one are given back. The request's reservation id makes a retry
 * the same reservation: it finds the record and gets the same answer.
 */
export async function reserve(ctx: LedgerContext, req: BudgetReserveRequest): Promise<BudgetReserveReply> {
  const price = ctx.settings.priceOf(req.model);
  const windows = windowRefs(ctx, req.pipeline, req.tenant);
  const usdLimited = req.limits.maxUsd !== undefined || windows.some((w) => w.limit?.maxUsd !== undefined);
  const windowsMayDeny = windows.some((w) => w.limit?.maxUsd !== undefined || w.limit?.maxTokens !== undefined);
  if (!price && usdLimited)
    return denied(req.reservationId, { limit: 'price', remaining: 0, reason: `no price is configured for ${req.model.provider}/${req.model.model} and a USD limit applies` }, false);
  const amount = reservationAmount(price, req.estimatedInputTokens, req.maxOutputTokens);
  const started = Date.now();
  const expiresAt = started + req.leaseMs;
  const runKey = ledgerKeys.run(req.runId);
  ctx.marks.ensure(req.runId, started);

  const [claim, ...holds] = await Promise.allSettled([
    ctx.writer.run(runKey, runCodec, claimOp({ ...req, amount, expiresAt, retentionMs: ctx.retentionMs, windowsMayDeny })),
    ...windows.map((w) => ctx.writer.run(windowKey(w), windowCodec, holdOp(w, req.reservationId, amount, expiresAt))),
  ]);
  // A failed claim leaves the holds this request added to end with their lease: they may be another
  // request's for the same reservation.
  if (claim.status === 'rejected') throw claim.reason;
  const c = claim.value;
  const holdError = holds.find((h) => h.status === 'rejected');
  if (holdError) {
    if (c.kind === 'claimed') {
      dropHolds(ctx, windows, req.reservationId);
      await ctx.writer.run(runKey, runCodec, dropClaimOp(req.reservationId));
    }
    throw holdError.reason;
  }
  const outcome = windowOutcome(holds.map((h) => (h as PromiseFulfilledResult<HoldResult>).value));
  if (c.kind === 'denied') {
    dropHolds(ctx, windows, req.reservationId);
    return denied(req.reservationId, c, false);
  }
  if (c.kind === 'claimed') {
    // Without window limits the claim was the whole decision and is already final (`held`).
    if (!windowsMayDeny && outcome.granted) return granted(req.reservationId, { nano: amount.nano, tokens: amount.tokens, expiresAt }, false);
    if (!outcome.granted) dropHolds(ctx, windows, req.reservationId);
    const finalize = ctx.writer.run(runKey, runCodec, finalizeOp(req.reservationId, outcome));
    // Nobody can take over a claim this young, so the answer is already final; the record catches up
    // off the request path. A slow handler waits for its write, whose result may be a takeover's.
    if (Date.now() - started < STALE_RESERVING_MS / 4) {
      finalize.catch((err: unknown) => ctx.log.error({ err, reservationId: req.reservationId }, 'could not finalize a reservation; it stays held until its lease ends'));
      return outcome.granted ? granted(req.reservationId, { nano: amount.nano, tokens: amount.tokens, expiresAt }, false) : denied(req.reservationId, outcome, false);
    }
    return fromRecord(ctx, windows, req.reservationId, await finalize, false);
  }
  return repeat(ctx, windows, runKey, req.reservationId, c.record, outcome);
}

/** A repeated request: answer from the record, waiting (bounded) for a claim still in progress. */
async function repeat(ctx: LedgerContext, windows: WindowRef[], runKey: string, reservationId: string, record: ReservationRecord, outcome: Finalize): Promise<BudgetReserveReply> {
  let current: ReservationRecord | undefined = record;
  while (current?.state === 'reserving' && Date.now() - current.createdAt < STALE_RESERVING_MS) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    current = (await ctx.writer.read(runKey, runCodec))?.records[reservationId];
  }
  // Still reserving past the stale age: its handler died. This request's own window checks decide.
  if (current?.state === 'reserving') current = await ctx.writer.run(runKey, runCodec, finalizeOp(reservationId, outcome));
  return fromRecord(ctx, windows, reservationId, current, true);
}

function fromRecord(ctx: LedgerContext, windows: WindowRef[], reservationId: string, r: ReservationRecord | undefined, repeated: boolean): BudgetReserveReply {
  if (!r) return { schemaVersion: SCHEMA_VERSION, outcome: 'error', error: { code: 'in_progress', message: 'the reservation was abandoned; retry', retryable: true } };
  // Holds a repeated request added for a reservation that is no longer open are garbage.
  if (repeated && r.state !== 'held' && r.state !== 'reserving') dropHolds(ctx, windows, reservationId);
  if (r.state === 'denied') {
    return denied(reservationId, { limit: r.limit ?? 'run.maxUsd', remaining: r.remaining ?? 0, reason: r.reason ?? 'denied' }, repeated);
  }
  return granted(reservationId, r, repeated);
}

function windowOutcome(results: HoldResult[]): Finalize {
  const d = results.find((h) => h.kind === 'denied');
  return d?.kind === 'denied' ? { granted: false, limit: d.limit, remaining: d.remaining, reason: d.reason } : { granted: true };
}

function dropHolds(ctx: LedgerContext, windows: WindowRef[], reservationId: string): void {
  for (const w of windows)
    ctx.writer.run(windowKey(w), windowCodec, dropHoldOp(reservationId)).catch((err: unknown) => ctx.log.warn({ err, reservationId }, 'could not drop a hold; it ends with its lease'));
}

function granted(reservationId: string, r: { nano: number; tokens: number; expiresAt: number }, repeated: boolean): BudgetReserveReply {
  return { schemaVersion: SCHEMA_VERSION, outcome: 'granted', reservationId, reservedUsd: nanoToUsd(r.nano), reservedTokens: r.tokens, expiresAt: new Date(r.expiresAt).toISOString(), repeated };
}

function denied(reservationId: string, d: { limit: BudgetLimitName; remaining: number; reason: string }, repeated: boolean): BudgetReserveReply {
  return { schemaVersion: SCHEMA_VERSION, outcome: 'denied', reservationId, limit: d.limit, remaining: d.remaining, reason: d.reason, repeated };
}
