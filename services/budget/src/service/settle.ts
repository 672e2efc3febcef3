import {
  nanoToUsd,
  SCHEMA_VERSION,
  type BudgetCommitReply,
  type BudgetCommitRequest,
  type BudgetCommitted,
  type BudgetReleased,
  type BudgetReleaseRequest,
  type ModelTarget,
  type Usage,
} from '@pipewright/contracts';
import type { z } from 'zod';
import { runCodec } from '../ledger/run-ledger.js';
import { commitOp, releaseOp } from '../ledger/run-settle.js';
import { dropHoldOp, HOLD_GRACE_MS, spendOp, windowCodec } from '../ledger/window-ledger.js';
import { ledgerKeys } from '../store/types.js';
import { recordsPruneBefore, windowKey, windowRefs, type LedgerContext } from './context.js';

/** A call's usage to book against its reservation: from a commit request or a spend event. */
export interface Booking {
  runId: string;
  reservationId: string;
  model: ModelTarget;
  usage: Usage;
  /** The run's pipeline and tenant when the caller says; otherwise the run's ledger knows them. */
  identity?: { pipeline: string; tenant: string } | undefined;
}

/**
 * Records a call's actual usage once, at the price its reservation was granted with. The run's record
 * is the gate: only one commit wins it and adds to the run. Then each window turns the reservation's
 * hold into spend, which happens once because the hold is gone after. A repeat finds the record
 * committed: nothing is counted again, and it converts a hold a first commit that died between the two
 * left behind. When the lease had ended (expired, released) its holds may be gone, so the winning
 * commit adds the spend itself. The windows wait for the gate because the charge is decided there.
 */
export async function book(ctx: LedgerContext, b: Booking): Promise<z.infer<typeof BudgetCommitted>> {
  const now = Date.now();
  const gate = await ctx.writer.run(
    ledgerKeys.run(b.runId),
    runCodec,
    commitOp({ runId: b.runId, reservationId: b.reservationId, usage: b.usage, tablePrice: ctx.settings.priceOf(b.model), identity: b.identity, pruneBefore: recordsPruneBefore(ctx, now) }),
  );
  const { record } = gate;
  const charged = { nano: record.chargedNano ?? 0, tokens: record.chargedTokens ?? 0 };
  const holdsMayBeGone = (gate.previous !== 'held' && gate.previous !== 'reserving') || now - record.expiresAt > HOLD_GRACE_MS / 2;
  // '' is a run this ledger never saw (its reservation is unknown here): its spend has no windows to go to.
  const windows = gate.pipeline ? windowRefs(ctx, gate.pipeline, gate.tenant) : [];
  await Promise.all(windows.map((w) => ctx.writer.run(windowKey(w), windowCodec, spendOp(w, b.reservationId, charged, gate.winner && holdsMayBeGone))));
  if (record.late && gate.winner) ctx.log.info({ reservationId: b.reservationId, previous: gate.previous }, 'late commit: the lease had ended; usage recorded all the same');
  if (!gate.pipeline) ctx.log.warn({ runId: b.runId, reservationId: b.reservationId }, 'spend for a run without a ledger: booked to the run, not to any pipeline or tenant window');
  return {
    schemaVersion: SCHEMA_VERSION,
    outcome: 'committed',
    reservationId: b.reservationId,
    chargedUsd: nanoToUsd(charged.nano),
    chargedTokens: charged.tokens,
    repeated: !gate.winner,
    previous: gate.previous,
    late: record.late ?? false,
  };
}

/** The request-reply commit (the executor books through spend events; other clients may commit here). */
export function commit(ctx: LedgerContext, req: BudgetCommitRequest): Promise<BudgetCommitReply> {
  return book(ctx, { ...req, identity: { pipeline: req.pipeline, tenant: req.tenant } });
}

/** Gives a reservation back unspent (the call failed before any usage). Repeats change nothing. */
export async function release(ctx: LedgerContext, req: BudgetReleaseRequest): Promise<z.infer<typeof BudgetReleased>> {
  const { previous, pipeline, tenant } = await ctx.writer.run(ledgerKeys.run(req.runId), runCodec, (doc, now) => {
    const out = releaseOp(req.reservationId, req.reason)(doc, now);
    return { ...out, result: { previous: out.result, pipeline: doc?.pipeline ?? '', tenant: doc?.tenant ?? '' } };
  });
  const wasOpen = previous === 'held' || previous === 'reserving';
  if (wasOpen) await Promise.all(windowRefs(ctx, pipeline, tenant).map((w) => ctx.writer.run(windowKey(w), windowCodec, dropHoldOp(req.reservationId))));
  return { schemaVersion: SCHEMA_VERSION, outcome: 'released', reservationId: req.reservationId, repeated: !wasOpen, previous };
}
