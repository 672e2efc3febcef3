import { usageCost, type ModelPrice, type ReservationState, type Usage } from '@pipewright/contracts';
import { changed, unchanged, type LedgerOp } from './op.js';
import { isOpen, pruneRecords, type ReservationRecord, type RunLedgerDoc } from './run-ledger.js';

/**
 * How a reservation ends: commit (usage recorded once), release (nothing spent), or expiry (the sweeper
 * saw its lease pass). The run document's record is the gate: exactly one commit moves it to
 * `committed`, and only that one adds the usage to the run's total.
 */

export interface CommitGate {
  /** This commit is the one that recorded the usage; false on a repeat. */
  winner: boolean;
  previous: ReservationState;
  /** The committed record: `chargedNano` and `chargedTokens` are what was charged (by the first commit). */
  record: ReservationRecord;
  /** The run's pipeline and tenant, whose windows the spend goes to ('' when the ledger never saw the run). */
  pipeline: string;
  tenant: string;
}

export interface CommitInput {
  runId: string;
  reservationId: string;
  usage: Usage;
  /** The price table's price for the model now: charged only when the reservation's record is gone. */
  tablePrice: ModelPrice | undefined;
  /** Where the run belongs, when the caller knows (a commit request says; a spend event does not). */
  identity?: { pipeline: string; tenant: string } | undefined;
  /** Records that ended before this time may be pruned (`recordsPruneBefore`). */
  pruneBefore: number;
}

/**
 * Records the usage of a call, at the price its reservation was granted with. Whatever happened to the
 * lease before (expired, released, denied, or a record already pruned), money was spent, so it is
 * counted; a commit of a committed reservation is a repeat and counts nothing.
 */
export function commitOp(input: CommitInput): LedgerOp<RunLedgerDoc, CommitGate> {
  return (current, now) => {
    const prior = current?.records[input.reservationId];
    if (current && prior?.state === 'committed') return unchanged(current, { winner: false, previous: 'committed', record: prior, pipeline: current.pipeline, tenant: current.tenant });
    const identity = input.identity ?? { pipeline: '', tenant: '' };
    const doc = current ?? { kind: 'run', runId: input.runId, ...identity, limits: {}, spent: { nano: 0, tokens: 0, calls: 0 }, records: {}, updatedAt: now };
    pruneRecords(doc, input.pruneBefore);
    const previous: ReservationState = prior?.state ?? 'unknown';
    const late = !prior || !isOpen(prior) || prior.expiresAt <= now;
    // `null` is a grant without a price ($0); only a record without the field falls back to the table.
    const price = prior?.price !== undefined ? (prior.price ?? undefined) : input.tablePrice;
    const charged = usageCost(price, input.usage);
    const record: ReservationRecord = {
      ...(prior ?? { nano: 0, tokens: 0, createdAt: now, expiresAt: now }),
      state: 'committed',
      endedAt: now,
      chargedNano: charged.nano,
      chargedTokens: charged.tokens,
      late,
    };
    doc.records[input.reservationId] = record;
    doc.spent = { nano: doc.spent.nano + charged.nano, tokens: doc.spent.tokens + charged.tokens, calls: doc.spent.calls + 1 };
    doc.updatedAt = now;
    return changed(doc, { winner: true, previous, record, pipeline: doc.pipeline, tenant: doc.tenant });
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
export function sweepOp(pruneBefore: number): LedgerOp<RunLedgerDoc, SweepResult | undefined> {
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
    pruneRecords(doc, pruneBefore);
    const result = { expired, open, idleMs, pipeline: doc.pipeline, tenant: doc.tenant };
    return expired.length > 0 || Object.keys(doc.records).length !== before ? changed(doc, result) : unchanged(doc, result);
  };
}
