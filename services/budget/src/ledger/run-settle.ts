import type { ReservationState } from '@pipewright/contracts';
import type { Amount } from '../money.js';
import { changed, unchanged, type LedgerOp } from './op.js';
import { isOpen, pruneRecords, type ReservationRecord, type RunIdentity, type RunLedgerDoc } from './run-ledger.js';

/**
 * How a reservation ends: commit (usage recorded once), release (nothing spent), or expiry (the sweeper
 * saw its lease pass). The run document's record is the gate: exactly one commit moves it to
 * `committed`, and only that one adds the usage to the run's total.
 */

export interface CommitGate {
  /** This commit is the one that recorded the usage; false on a repeat. */
  winner: boolean;
  previous: ReservationState;
  record: ReservationRecord;
}

export interface CommitInput extends RunIdentity {
  reservationId: string;
  charged: Amount;
  retentionMs: number;
}

/**
 * Records the usage of a call. Whatever happened to the lease before (expired, released, denied, or a
 * record already pruned), money was spent, so it is counted; a commit of a committed reservation is a
 * repeat and counts nothing.
 */
export function commitOp(input: CommitInput): LedgerOp<RunLedgerDoc, CommitGate> {
  return (current, now) => {
    const prior = current?.records[input.reservationId];
    if (current && prior?.state === 'committed') return unchanged(current, { winner: false, previous: 'committed', record: prior });
    const doc = current ?? { kind: 'run', runId: input.runId, pipeline: input.pipeline, tenant: input.tenant, limits: {}, spent: { nano: 0, tokens: 0, calls: 0 }, records: {}, updatedAt: now };
    pruneRecords(doc, now, input.retentionMs);
    const previous: ReservationState = prior?.state ?? 'unknown';
    const late = !prior || !isOpen(prior) || prior.expiresAt <= now;
    const record: ReservationRecord = {
      ...(prior ?? { nano: 0, tokens: 0, createdAt: now, expiresAt: now }),
      state: 'committed',
      endedAt: now,
      chargedNano: input.charged.nano,
      chargedTokens: input.charged.tokens,
      late,
    };
    doc.records[input.reservationId] = record;
    doc.spent = { nano: doc.spent.nano + input.charged.nano, tokens: doc.spent.tokens + input.charged.tokens, calls: doc.spent.calls + 1 };
    doc.updatedAt = now;
    return changed(doc, { winner: true, previous, record });
  };
}

/** Ends a lease with nothing spent. Only an open reservation changes; anything else is a harmless repeat. */
export function releaseOp(reservationId: string, reason: string): LedgerOp<RunLedgerDoc, ReservationState> {
  return (doc, now) => {
    const r = doc?.records[reservationId];
    if (!doc || !r) return unchanged(doc, 'unknown');
    if (!isOpen(r)) return unchanged(doc, r.state);
    doc.records[reservationId] = { ...r, state: 'released', endedAt: now, reason: reason.slice(0, 200) };
    doc.updatedAt = now;
    return changed(doc, r.state);
  };
}

export interface SweepResult {
  /** Reservations this sweep found past their lease and recorded as expired. */
  expired: string[];
  /** Reservations still open (lease not over). */
  open: number;
  /** Time since the run's ledger last changed. */
  idleMs: number;
  pipeline: string;
  tenant: string;
}

/**
 * Records leases that ran out as `expired` and prunes old records. Their amounts stopped counting the
 * moment the lease ended (every limit check skips expired holds); this makes it visible and final.
 */
export function sweepOp(retentionMs: number): LedgerOp<RunLedgerDoc, SweepResult | undefined> {
  return (doc, now) => {
    if (!doc) return unchanged<RunLedgerDoc, SweepResult | undefined>(doc, undefined);
    const idleMs = now - doc.updatedAt;
    const expired: string[] = [];
    let open = 0;
    for (const [id, r] of Object.entries(doc.records)) {
      if (!isOpen(r)) continue;
      if (r.expiresAt > now) open += 1;
      else {
        doc.records[id] = { ...r, state: 'expired', endedAt: now };
        expired.push(id);
      }
    }
    const before = Object.keys(doc.records).length;
    pruneRecords(doc, now, retentionMs);
    const result = { expired, open, idleMs, pipeline: doc.pipeline, tenant: doc.tenant };
    return expired.length > 0 || Object.keys(doc.records).length !== before ? changed(doc, result) : unchanged(doc, result);
  };
}
