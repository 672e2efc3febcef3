import { addAmount, BudgetLimitName, BudgetRunLimits, ModelPrice, nanoToUsd, ReservationState, usdToNano, type Amount } from '@pipewright/contracts';
import { z } from 'zod';
import { LEDGER_DOC_BUDGET_BYTES, LedgerFullError, RECORD_OVERHEAD_BYTES, recordsBytes } from './doc-size.js';
import { changed, unchanged, type Codec, type LedgerOp } from './op.js';

/**
 * One document per run: its limits, what it spent, and a record per reservation. The record is the
 * single point that decides what happens to a reservation (claim, grant, commit, release, expiry), so
 * a retried request finds it and is never counted twice. Records of finished reservations are kept for
 * the retention window (on the clock of the spend consumer's progress, see `pruneRecords`), then
 * pruned; the run's totals stay.
 */
const Int = z.number().int().nonnegative();
const StoredState = ReservationState.exclude(['unknown']);
export const ReservationRecord = z.object({
  state: StoredState,
  /** Held amount (nano-USD, tokens) while `reserving` or `held`. */
  nano: Int,
  tokens: Int,
  createdAt: Int,
  expiresAt: Int,
  endedAt: Int.optional(),
  chargedNano: Int.optional(),
  chargedTokens: Int.optional(),
  late: z.boolean().optional(),
  limit: BudgetLimitName.optional(),
  remaining: z.number().optional(),
  reason: z.string().optional(),
  /**
   * The price the reservation was granted at: a commit charges its usage at this price, whatever the
   * table says by then. `null`: the model had none (its calls cost $0). Absent on a record a commit
   * created (the reservation's record was gone): that commit was charged at the table's price.
   */
  price: ModelPrice.nullable().optional(),
  /** A denial by a pipeline or tenant window: when the reservation would fit (see `fitsAt`). */
  retryAt: Int.optional(),
  /**
   * The request that claimed it, while it is open: only that request may finalize or withdraw the claim
   * (a repeat that takes over a stale claim finalizes it in the claimant's name, see `finalizeOp`).
   */
  owner: z.string().optional(),
});
export type ReservationRecord = z.infer<typeof ReservationRecord>;

export const RunLedgerDoc = z.object({
  kind: z.literal('run'),
  runId: z.string(),
  pipeline: z.string(),
  tenant: z.string(),
  limits: BudgetRunLimits,
  spent: z.object({ nano: Int, tokens: Int, calls: Int }),
  records: z.record(z.string(), ReservationRecord),
  updatedAt: Int,
});
export type RunLedgerDoc = z.infer<typeof RunLedgerDoc>;
export const runCodec: Codec<RunLedgerDoc> = { decode: (v) => RunLedgerDoc.parse(v) };

export const isOpen = (r: ReservationRecord) => r.state === 'reserving' || r.state === 'held';
export const isLive = (r: ReservationRecord, now: number) => isOpen(r) && r.expiresAt > now;

/** Committed and live reserved amounts of a run, and how many reservations are live. */
export function runUsage(doc: RunLedgerDoc, now: number): { committed: Amount; reserved: Amount; live: number } {
  let reserved: Amount = { nano: 0, tokens: 0 };
  let live = 0;
  for (const r of Object.values(doc.records))
    if (isLive(r, now)) {
      reserved = addAmount(reserved, r);
      live += 1;
    }
  return { committed: { nano: doc.spent.nano, tokens: doc.spent.tokens }, reserved, live };
}

export interface RunIdentity {
  runId: string;
  pipeline: string;
  tenant: string;
}

const emptyRun = (id: RunIdentity, now: number): RunLedgerDoc => ({ kind: 'run', ...id, limits: {}, spent: { nano: 0, tokens: 0, calls: 0 }, records: {}, updatedAt: now });

/**
 * Drops finished records that ended before `pruneBefore`, and open ones whose lease ended before it.
 * Callers pass the retention subtracted from the time up to which every spend event has been booked
 * (`recordsPruneBefore`), not from the wall clock: a record must outlive every delivery of the event
 * that books it, or a redelivery after an outage would be counted again and a late commit would lose
 * the price it was granted at.
 */
export function pruneRecords(doc: RunLedgerDoc, pruneBefore: number): void {
  for (const [id, r] of Object.entries(doc.records)) {
    const end = isOpen(r) ? r.expiresAt : (r.endedAt ?? r.expiresAt);
    if (end < pruneBefore) delete doc.records[id];
  }
}

export type ClaimResult =
  | { kind: 'claimed' }
  | { kind: 'denied'; limit: BudgetLimitName; remaining: number; reason: string }
  | { kind: 'existing'; record: ReservationRecord };

export interface ClaimInput extends RunIdentity {
  reservationId: string;
  limits: BudgetRunLimits;
  amount: Amount;
  /** The model's price now (undefined: it has none): recorded, and charged by the commit. */
  price: ModelPrice | undefined;
  expiresAt: number;
  /** Records that ended before this time may be pruned (`recordsPruneBefore`). */
  pruneBefore: number;
  /** Whether a pipeline or tenant limit applies; when none does, the claim is the whole decision. */
  windowsMayDeny: boolean;
  /** A token of the request that claims (see ReservationRecord.owner). */
  owner: string;
  /** What the amount is made of, for a denial's reason: the estimated prompt and the output cap. */
  call?: { inputTokens: number; maxOutputTokens: number };
}

/**
 * Claims a reservation for this run: checks the run's own limits against what it committed plus what
 * live leases hold, and records the reservation as `denied`, as `held` when no window limit applies,
 * or as `reserving` until the pipeline and tenant checks (made at the same time, elsewhere) are in. An
 * existing record is returned untouched.
 */
export function claimOp(input: ClaimInput): LedgerOp<RunLedgerDoc, ClaimResult> {
  return (current, now) => {
    const existing = current?.records[input.reservationId];
    if (existing) return unchanged(current, { kind: 'existing', record: existing });
    const doc = current ?? emptyRun(input, now);
    pruneRecords(doc, input.pruneBefore);
    // Refused before anything else changes: the document stays as it was for the rest of the batch.
    if (recordsBytes(doc.records) + input.reservationId.length + RECORD_OVERHEAD_BYTES > LEDGER_DOC_BUDGET_BYTES)
      throw new LedgerFullError(`run ${input.runId}: its ledger holds ${Object.keys(doc.records).length} recent reservations, as many as one document takes; retry when older ones age out`);
    // A commit that found no ledger (an event for a run this ledger never saw) created it without one.
    if (!doc.pipeline) Object.assign(doc, { pipeline: input.pipeline, tenant: input.tenant });
    // The latest request's limits apply: a budget raised by an approval reaches the run this way.
    doc.limits = input.limits;
    doc.updatedAt = now;
    const { committed, reserved } = runUsage(doc, now);
    const base = { nano: input.amount.nano, tokens: input.amount.tokens, createdAt: now, expiresAt: input.expiresAt, price: input.price ?? null };
    const denial = checkRunLimits(input.limits, committed, reserved, input.amount, input.call);
    if (denial) {
      doc.records[input.reservationId] = { ...base, state: 'denied', endedAt: now, ...denial };
      return changed(doc, { kind: 'denied', ...denial });
    }
    doc.records[input.reservationId] = { ...base, state: input.windowsMayDeny ? 'reserving' : 'held', owner: input.owner };
    return changed(doc, { kind: 'claimed' });
  };
}

function checkRunLimits(limits: BudgetRunLimits, committed: Amount, reserved: Amount, want: Amount, call: ClaimInput['call']): { limit: BudgetLimitName; remaining: number; reason: string } | undefined {
  // A call reserves its whole output cap up front: say so, or a denial with little spent looks wrong.
  const makeup = call ? ` (about ${call.inputTokens} prompt tokens plus the call's output cap of ${call.maxOutputTokens}: maxOutputTokens, or the default cap when the step sets none)` : '';
  if (limits.maxUsd !== undefined) {
    const left = usdToNano(limits.maxUsd) - committed.nano - reserved.nano;
    if (want.nano > left)
      return { limit: 'run.maxUsd', remaining: nanoToUsd(Math.max(0, left)), reason: `the run's budget of $${limits.maxUsd} would be exceeded: the call reserves $${nanoToUsd(want.nano)}${makeup}, $${nanoToUsd(Math.max(0, left))} is left` };
  }
  if (limits.maxTokens !== undefined) {
    const left = limits.maxTokens - committed.tokens - reserved.tokens;
    if (want.tokens > left)
      return { limit: 'run.maxTokens', remaining: Math.max(0, left), reason: `the run's budget of ${limits.maxTokens} tokens would be exceeded: the call reserves ${want.tokens} tokens${makeup}, ${Math.max(0, left)} are left` };
  }
  return undefined;
}

/** A window denial: `retryAt` says when the reservation would fit (absent: never, or a run limit). */
export interface Denial {
  limit: BudgetLimitName;
  remaining: number;
  reason: string;
  retryAt?: number | undefined;
}

export type Finalize = { granted: true } | ({ granted: false } & Denial);

export interface Finalized {
  /** The record as it is now (undefined: gone). */
  record: ReservationRecord | undefined;
  /** This operation ended the `reserving` phase. */
  won: boolean;
}

/**
 * Ends the `reserving` phase with the outcome of the window checks, if the record is still `reserving`
 * in the name of `owner`; anything else (finished, taken over, withdrawn, claimed afresh) is left as it is.
 */
export function finalizeOp(reservationId: string, outcome: Finalize, owner: string | undefined): LedgerOp<RunLedgerDoc, Finalized> {
  return (doc, now) => {
    const r = doc?.records[reservationId];
    if (!doc || !r || r.state !== 'reserving' || r.owner !== owner) return unchanged(doc, { record: r, won: false });
    // Decided: nobody's to withdraw any more.
    const { owner: _claimant, ...rest } = r;
    const next: ReservationRecord = outcome.granted
      ? { ...rest, state: 'held' }
      : { ...rest, state: 'denied', endedAt: now, limit: outcome.limit, remaining: outcome.remaining, reason: outcome.reason, ...(outcome.retryAt !== undefined ? { retryAt: outcome.retryAt } : {}) };
    doc.records[reservationId] = next;
    doc.updatedAt = now;
    return changed(doc, { record: next, won: true });
  };
}

/**
 * Withdraws a claim whose window checks failed with an error, so that a retry starts afresh: only while
 * it is still the claimant's (`reserving`, or `held` from the claim itself when no window limit applies).
 * A finalized record has no owner: a repeat may have taken it over and answered from it.
 */
export function dropClaimOp(reservationId: string, owner: string): LedgerOp<RunLedgerDoc, boolean> {
  return (doc) => {
    const r = doc?.records[reservationId];
    if (!doc || !r || !isOpen(r) || r.owner !== owner) return unchanged(doc, false);
    delete doc.records[reservationId];
    return changed(doc, true);
  };
}
