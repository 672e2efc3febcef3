import { SCHEMA_VERSION, type BudgetCommitReply, type BudgetCommitRequest, type BudgetReleaseReply, type BudgetReleaseRequest } from '@pipewright/contracts';
import { runCodec } from '../ledger/run-ledger.js';
import { commitOp, releaseOp } from '../ledger/run-settle.js';
import { dropHoldOp, HOLD_GRACE_MS, spendOp, windowCodec } from '../ledger/window-ledger.js';
import { nanoToUsd, usageCost } from '../money.js';
import { ledgerKeys } from '../store/types.js';
import { windowKey, windowRefs, type LedgerContext } from './context.js';

/**
 * Records a call's actual usage once. The run's record is the gate (only one commit wins it and adds to
 * the run); at the same time each window turns the reservation's hold into spend, which happens once
 * because the hold is gone after. A repeat finds the record committed and the holds gone: nothing is
 * counted again, and it finishes the job of a commit that died between the two. When the lease had ended
 * (expired, released) its holds may be gone too, so the winning commit adds the spend itself.
 */
export async function commit(ctx: LedgerContext, req: BudgetCommitRequest): Promise<BudgetCommitReply> {
  const charged = usageCost(ctx.settings.priceOf(req.model), req.usage);
  const windows = windowRefs(ctx, req.pipeline, req.tenant);
  const [gate, ...spends] = await Promise.all([
    ctx.writer.run(ledgerKeys.run(req.runId), runCodec, commitOp({ ...req, charged, retentionMs: ctx.retentionMs })),
    ...windows.map((w) => ctx.writer.run(windowKey(w), windowCodec, spendOp(w, req.reservationId, charged, false))),
  ]);
  const holdsMayBeGone = gate.previous !== 'held' && gate.previous !== 'reserving';
  const holdsPruned = Date.now() - gate.record.expiresAt > HOLD_GRACE_MS / 2;
  if (gate.winner && (holdsMayBeGone || holdsPruned))
    await Promise.all(windows.flatMap((w, i) => (spends[i] === 'none' ? [ctx.writer.run(windowKey(w), windowCodec, spendOp(w, req.reservationId, charged, true))] : [])));
  if (gate.record.late) ctx.log.info({ reservationId: req.reservationId, previous: gate.previous }, 'late commit: the lease had ended; usage recorded all the same');
  return {
    schemaVersion: SCHEMA_VERSION,
    outcome: 'committed',
    reservationId: req.reservationId,
    chargedUsd: nanoToUsd(gate.record.chargedNano ?? 0),
    chargedTokens: gate.record.chargedTokens ?? 0,
    repeated: !gate.winner,
    previous: gate.previous,
    late: gate.record.late ?? false,
  };
}

/** Gives a reservation back unspent (the call failed before any usage). Repeats change nothing. */
export async function release(ctx: LedgerContext, req: BudgetReleaseRequest): Promise<BudgetReleaseReply> {
  const { previous, pipeline, tenant } = await ctx.writer.run(ledgerKeys.run(req.runId), runCodec, (doc, now) => {
    const out = releaseOp(req.reservationId, req.reason)(doc, now);
    return { ...out, result: { previous: out.result, pipeline: doc?.pipeline ?? '', tenant: doc?.tenant ?? '' } };
  });
  const wasOpen = previous === 'held' || previous === 'reserving';
  if (wasOpen) await Promise.all(windowRefs(ctx, pipeline, tenant).map((w) => ctx.writer.run(windowKey(w), windowCodec, dropHoldOp(req.reservationId))));
  return { schemaVersion: SCHEMA_VERSION, outcome: 'released', reservationId: req.reservationId, repeated: !wasOpen, previous };
}
