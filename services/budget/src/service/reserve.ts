import { randomBytes } from 'node:crypto';
import { nanoToUsd, reservationAmount, SCHEMA_VERSION, type BudgetReserveReply, type BudgetReserveRequest, type ModelPrice } from '@pipewright/contracts';
import { claimOp, dropClaimOp, finalizeOp, runCodec, type Denial, type Finalize, type ReservationRecord } from '../ledger/run-ledger.js';
import { dropHoldOp, holdOp, windowCodec, type HoldResult, type WindowRef } from '../ledger/window-ledger.js';
import { WRITE_DEADLINE_MS } from '../ledger/writer.js';
import { ledgerKeys } from '../store/types.js';
import { recordsPruneBefore, windowKey, windowRefs, type LedgerContext } from './context.js';

/**
 * A `reserving` claim older than this is taken over by a repeated request: its handler is presumed dead.
 * Longer than a write may keep retrying (WRITE_DEADLINE_MS), with a margin, so that a handler that is
 * only slow has normally finished first. Should one still be overtaken (a write queued behind another
 * batch can take longer), the owner token keeps it from undoing what the takeover decided.
 */
export const STALE_RESERVING_MS = WRITE_DEADLINE_MS + 3_000;
/** A repeat waits this long at most for a claim in progress, then answers `in_progress` (retryable). */
const REPEAT_WAIT_MS = 1_000;
const POLL_MS = 10;

/**
 * Reserves budget for one model call. The run's record is claimed and the pipeline and tenant holds are
 * added at the same time (three documents, one round trip); the reservation is granted only if all three
 * allow it, and holds taken for a denied one are given back. The request's reservation id makes a retry
 * the same reservation: it finds the record and gets the same answer. The claim carries a token of this
 * request: it finalizes or withdraws the claim only while the record is still `reserving` in its name,
 * and gives holds back only after the record says `denied` in its name.
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
  const owner = randomBytes(6).toString('base64url');
  ctx.marks.ensure(req.runId, started);

  const [claim, ...holds] = await Promise.allSettled([
    ctx.writer.run(runKey, runCodec, claimOp({ ...req, amount, price, expiresAt, pruneBefore: recordsPruneBefore(ctx, started), windowsMayDeny, owner, call: { inputTokens: req.estimatedInputTokens, maxOutputTokens: req.maxOutputTokens } })),
    ...windows.map((w) => ctx.writer.run(windowKey(w), windowCodec, holdOp(w, req.reservationId, amount, expiresAt))),
  ]);
  // A failed claim leaves the holds this request added to end with their lease: they may be another
  // request's for the same reservation.
  if (claim.status === 'rejected') throw claim.reason;
  const c = claim.value;
  const holdError = holds.find((h) => h.status === 'rejected');
  if (holdError) {
    // The claim is withdrawn while it is still this request's, so that a retry starts afresh. Its holds
    // are left to end with their lease, or to count for a retry of this reservation, which finds them:
    // they may already be that retry's, and a drop from here could not tell.
    if (c.kind === 'claimed')
      await ctx.writer.run(runKey, runCodec, dropClaimOp(req.reservationId, owner)).catch((err: unknown) => ctx.log.warn({ err, reservationId: req.reservationId }, 'could not withdraw a claim; it ends with its lease'));
    throw holdError.reason;
  }
  const outcome = windowOutcome(holds.map((h) => (h as PromiseFulfilledResult<HoldResult>).value));
  if (c.kind === 'denied') {
    dropHolds(ctx, windows, req.reservationId);
    return denied(req.reservationId, c, false);
  }
  if (c.kind === 'existing') return repeat(ctx, windows, runKey, req.reservationId, c.record, outcome);
  const grant = granted(req.reservationId, { nano: amount.nano, tokens: amount.tokens, expiresAt, price }, false);
  // Without window limits the claim was the whole decision and is already final (`held`).
  if (!windowsMayDeny) return grant;
  const finalize = ctx.writer.run(runKey, runCodec, finalizeOp(req.reservationId, outcome, owner));
  // Nobody can take over a claim this young, so a grant is already final; the record catches up off the
  // request path (should it not, a repeat finds the holds and grants again).
  if (outcome.granted && Date.now() - started < staleAge(ctx) / 4) {
    finalize.catch((err: unknown) => ctx.log.error({ err, reservationId: req.reservationId }, 'could not finalize a reservation; it stays held until its lease ends'));
    return grant;
  }
  const f = await finalize;
  if (!f.won) return fromRecord(ctx, windows, req.reservationId, f.record, false);
  if (outcome.granted) return grant;
  dropHolds(ctx, windows, req.reservationId);
  return denied(req.reservationId, outcome, false);
}

const staleAge = (ctx: LedgerContext) => ctx.staleReservingMs ?? STALE_RESERVING_MS;

/** A repeated request: answer from the record, waiting (bounded) for a claim still in progress. */
async function repeat(ctx: LedgerContext, windows: WindowRef[], runKey: string, reservationId: string, record: ReservationRecord, outcome: Finalize): Promise<BudgetReserveReply> {
  const staleMs = staleAge(ctx);
  const waitUntil = Date.now() + REPEAT_WAIT_MS;
  let current: ReservationRecord | undefined = record;
  while (current?.state === 'reserving' && Date.now() - current.createdAt < staleMs && Date.now() < waitUntil) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    current = (await ctx.writer.read(runKey, runCodec))?.records[reservationId];
  }
  if (current?.state === 'reserving' && Date.now() - current.createdAt >= staleMs) {
    // Its handler is presumed dead: this request's own window checks decide, in the claimant's name (a
    // claim withdrawn and made afresh meanwhile is another's, and is left alone).
    current = (await ctx.writer.run(runKey, runCodec, finalizeOp(reservationId, outcome, current.owner))).record;
  }
  return fromRecord(ctx, windows, reservationId, current, true);
}

function fromRecord(ctx: LedgerContext, windows: WindowRef[], reservationId: string, r: ReservationRecord | undefined, repeated: boolean): BudgetReserveReply {
  if (!r) return inProgress('the reservation was abandoned; retry');
  if (r.state === 'reserving') return inProgress('the reservation is still being decided; retry');
  // The record is final: holds of a reservation that is not open are garbage (a repeat may have added some).
  if (r.state !== 'held') dropHolds(ctx, windows, reservationId);
  if (r.state === 'denied') {
    return denied(reservationId, { limit: r.limit ?? 'run.maxUsd', remaining: r.remaining ?? 0, reason: r.reason ?? 'denied', retryAt: r.retryAt }, repeated);
  }
  return granted(reservationId, { ...r, price: r.price ?? undefined }, repeated);
}

const inProgress = (message: string): BudgetReserveReply => ({ schemaVersion: SCHEMA_VERSION, outcome: 'error', error: { code: 'in_progress', message, retryable: true } });

/**
 * The first window that denied names the limit; the reservation fits once it fits every window that
 * denied it, so `retryAt` is the latest of theirs (none when one of them can never fit it).
 */
function windowOutcome(results: HoldResult[]): Finalize {
  const denials = results.flatMap((h) => (h.kind === 'denied' ? [h] : []));
  const first = denials[0];
  if (!first) return { granted: true };
  const never = denials.some((d) => d.retryAt === undefined);
  return { granted: false, limit: first.limit, remaining: first.remaining, reason: first.reason, retryAt: never ? undefined : Math.max(...denials.map((d) => d.retryAt ?? 0)) };
}

function dropHolds(ctx: LedgerContext, windows: WindowRef[], reservationId: string): void {
  for (const w of windows)
    ctx.writer.run(windowKey(w), windowCodec, dropHoldOp(reservationId)).catch((err: unknown) => ctx.log.warn({ err, reservationId }, 'could not drop a hold; it ends with its lease'));
}

/** A grant tells the caller the price it was granted at: the commit charges that price, and the executor reports the cost with it. */
function granted(reservationId: string, r: { nano: number; tokens: number; expiresAt: number; price: ModelPrice | undefined }, repeated: boolean): BudgetReserveReply {
  return { schemaVersion: SCHEMA_VERSION, outcome: 'granted', reservationId, reservedUsd: nanoToUsd(r.nano), reservedTokens: r.tokens, expiresAt: new Date(r.expiresAt).toISOString(), ...(r.price ? { price: r.price } : {}), repeated };
}

function denied(reservationId: string, d: Denial, repeated: boolean): BudgetReserveReply {
  const retry = d.retryAt !== undefined ? { retryAfterMs: Math.max(0, d.retryAt - Date.now()) } : {};
  return { schemaVersion: SCHEMA_VERSION, outcome: 'denied', reservationId, limit: d.limit, remaining: d.remaining, reason: d.reason, ...retry, repeated };
}
