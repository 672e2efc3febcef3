import { addAmount, nanoToUsd, usdToNano, type Amount } from '@pipewright/contracts';
import { z } from 'zod';
import type { Denial } from './run-ledger.js';
import type { ScopeLimit, WindowScope } from '../settings.js';
import { HOLD_OVERHEAD_BYTES, holdsBytes, LEDGER_DOC_BUDGET_BYTES, LedgerFullError } from './doc-size.js';
import { changed, unchanged, type Codec, type LedgerOp } from './op.js';

/**
 * One document per pipeline and per tenant: spend in hourly buckets over a rolling window, and the holds
 * of open reservations. Checking a limit and adding a hold is one compare-and-set on this document, so
 * concurrent reservations across replicas cannot pass the limit together. A window of H hours counts
 * the current hour's bucket and those of the H hours before it: spend counts for at least H hours.
 */
export const HOUR_MS = 3_600_000;
/** A hold is deleted this long after its lease ended (it stopped counting at the end of its lease). */
export const HOLD_GRACE_MS = 10 * 60_000;

const Int = z.number().int().nonnegative();
const Bucket = z.object({ nano: Int, tokens: Int, calls: Int });
const Hold = z.object({ nano: Int, tokens: Int, expiresAt: Int });
export const WindowLedgerDoc = z.object({
  kind: z.literal('window'),
  scope: z.enum(['pipeline', 'tenant']),
  id: z.string(),
  /** Keyed by the start of the hour (ms since the epoch). */
  buckets: z.record(z.string(), Bucket),
  holds: z.record(z.string(), Hold),
  updatedAt: Int,
});
export type WindowLedgerDoc = z.infer<typeof WindowLedgerDoc>;
export const windowCodec: Codec<WindowLedgerDoc> = { decode: (v) => WindowLedgerDoc.parse(v) };

export interface WindowRef {
  scope: WindowScope;
  id: string;
  windowHours: number;
  limit: ScopeLimit | undefined;
}

const hourOf = (t: number) => Math.floor(t / HOUR_MS) * HOUR_MS;
const oldestCounted = (now: number, windowHours: number) => hourOf(now) - windowHours * HOUR_MS;

/** Spend inside the window, and what live holds reserve. */
export function windowUsage(doc: WindowLedgerDoc, now: number, windowHours: number): { committed: Amount & { calls: number }; reserved: Amount; live: number } {
  const from = oldestCounted(now, windowHours);
  const committed = { nano: 0, tokens: 0, calls: 0 };
  for (const [start, b] of Object.entries(doc.buckets))
    if (Number(start) >= from) {
      committed.nano += b.nano;
      committed.tokens += b.tokens;
      committed.calls += b.calls;
    }
  let reserved: Amount = { nano: 0, tokens: 0 };
  let live = 0;
  for (const h of Object.values(doc.holds))
    if (h.expiresAt > now) {
      reserved = addAmount(reserved, h);
      live += 1;
    }
  return { committed, reserved, live };
}

function prune(doc: WindowLedgerDoc, now: number, windowHours: number): void {
  const from = oldestCounted(now, windowHours);
  for (const start of Object.keys(doc.buckets)) if (Number(start) < from) delete doc.buckets[start];
  for (const [id, h] of Object.entries(doc.holds)) if (h.expiresAt + HOLD_GRACE_MS < now) delete doc.holds[id];
}

const emptyWindow = (ref: WindowRef, now: number): WindowLedgerDoc => ({ kind: 'window', scope: ref.scope, id: ref.id, buckets: {}, holds: {}, updatedAt: now });

export type HoldResult = { kind: 'held' } | { kind: 'existing' } | ({ kind: 'denied' } & Denial);

/**
 * When a reservation of `amount` would fit the window if nothing more were spent or reserved meanwhile:
 * spend leaves the window with its hourly bucket (a bucket that starts at b counts until b + (H + 1) h),
 * a hold when its lease ends. Undefined when it never fits (the amount alone is past a limit).
 */
export function fitsAt(doc: WindowLedgerDoc, ref: WindowRef, amount: Amount, now: number): number | undefined {
  const maxNano = ref.limit?.maxUsd !== undefined ? usdToNano(ref.limit.maxUsd) : Infinity;
  const maxTokens = ref.limit?.maxTokens ?? Infinity;
  if (amount.nano > maxNano || amount.tokens > maxTokens) return undefined;
  const from = oldestCounted(now, ref.windowHours);
  const leaving: { at: number; nano: number; tokens: number }[] = [];
  for (const [start, b] of Object.entries(doc.buckets)) if (Number(start) >= from) leaving.push({ at: Number(start) + (ref.windowHours + 1) * HOUR_MS, nano: b.nano, tokens: b.tokens });
  for (const h of Object.values(doc.holds)) if (h.expiresAt > now) leaving.push({ at: h.expiresAt, nano: h.nano, tokens: h.tokens });
  leaving.sort((a, b) => a.at - b.at);
  let nano = amount.nano;
  let tokens = amount.tokens;
  for (const l of leaving) {
    nano += l.nano;
    tokens += l.tokens;
  }
  let at = now;
  for (const l of leaving) {
    if (nano <= maxNano && tokens <= maxTokens) return at;
    nano -= l.nano;
    tokens -= l.tokens;
    at = l.at;
  }
  return at;
}

/** Adds a hold if the window's limits allow it (or there are none: holds make commits exact). */
export function holdOp(ref: WindowRef, reservationId: string, amount: Amount, expiresAt: number): LedgerOp<WindowLedgerDoc, HoldResult> {
  return (current, now) => {
    if (current?.holds[reservationId]) return unchanged(current, { kind: 'existing' });
    const doc = current ?? emptyWindow(ref, now);
    prune(doc, now, ref.windowHours);
    const { committed, reserved } = windowUsage(doc, now, ref.windowHours);
    const lim = ref.limit;
    const deny = (d: Denial) => unchanged(current, { kind: 'denied' as const, ...d, retryAt: fitsAt(doc, ref, amount, now) });
    if (lim?.maxUsd !== undefined) {
      const left = usdToNano(lim.maxUsd) - committed.nano - reserved.nano;
      if (amount.nano > left) return deny({ limit: `${ref.scope}.maxUsd`, remaining: nanoToUsd(Math.max(0, left)), reason: `${ref.scope} ${ref.id}: $${lim.maxUsd} per ${lim.windowHours} h would be exceeded` });
    }
    if (lim?.maxTokens !== undefined) {
      const left = lim.maxTokens - committed.tokens - reserved.tokens;
      if (amount.tokens > left) return deny({ limit: `${ref.scope}.maxTokens`, remaining: Math.max(0, left), reason: `${ref.scope} ${ref.id}: ${lim.maxTokens} tokens per ${lim.windowHours} h would be exceeded` });
    }
    // Refused before anything else changes: the document stays as it was for the rest of the batch.
    if (holdsBytes(doc.holds, doc.buckets) + reservationId.length + HOLD_OVERHEAD_BYTES > LEDGER_DOC_BUDGET_BYTES)
      throw new LedgerFullError(`${ref.scope} ${ref.id}: ${Object.keys(doc.holds).length} reservations are open, as many as one ledger document takes; retry when some end`);
    doc.holds[reservationId] = { nano: amount.nano, tokens: amount.tokens, expiresAt };
    doc.updatedAt = now;
    return changed(doc, { kind: 'held' });
  };
}

/**
 * Adds a call's cost to the current hour. With a hold for the reservation, the hold is turned into spend
 * (once: the hold is gone after); without one, spend is added only when `createIfAbsent` (the commit
 * that won the run's gate and knows nobody converted a hold).
 */
export function spendOp(ref: WindowRef, reservationId: string, charged: Amount, createIfAbsent: boolean): LedgerOp<WindowLedgerDoc, 'converted' | 'created' | 'none'> {
  return (current, now) => {
    const held = current?.holds[reservationId] !== undefined;
    if (!held && !createIfAbsent) return unchanged(current, 'none');
    const doc = current ?? emptyWindow(ref, now);
    delete doc.holds[reservationId];
    prune(doc, now, ref.windowHours);
    const key = String(hourOf(now));
    const b = doc.buckets[key] ?? { nano: 0, tokens: 0, calls: 0 };
    doc.buckets[key] = { nano: b.nano + charged.nano, tokens: b.tokens + charged.tokens, calls: b.calls + 1 };
    doc.updatedAt = now;
    return changed(doc, held ? 'converted' : 'created');
  };
}

/** Removes a hold (release, denial, expiry); a missing hold is a harmless repeat. */
export function dropHoldOp(reservationId: string): LedgerOp<WindowLedgerDoc, boolean> {
  return (doc, now) => {
    if (!doc?.holds[reservationId]) return unchanged(doc, false);
    delete doc.holds[reservationId];
    doc.updatedAt = now;
    return changed(doc, true);
  };
}
