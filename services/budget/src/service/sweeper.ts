import { errorMessage } from '@pipewright/kit';
import { runCodec } from '../ledger/run-ledger.js';
import { sweepOp } from '../ledger/run-settle.js';
import { dropHoldOp, windowCodec } from '../ledger/window-ledger.js';
import { ledgerKeys, type LedgerStore } from '../store/types.js';
import { recordsPruneBefore, windowKey, windowRefs, type LedgerContext } from './context.js';
import { OPEN_IDLE_MS } from './open-marks.js';

/** Runs looked at per sweep at most; the rest wait for the next one. */
const RUNS_PER_SWEEP = 1_000;

export interface SweepReport {
  runs: number;
  expired: number;
  unmarked: number;
  /** Store housekeeping (MongoDB without a TTL index: old version claims). */
  pruned: number;
}

/**
 * One pass over the runs marked open: leases that ran out are recorded as `expired` and their window
 * holds deleted. Every step is a compare-and-set that is a no-op the second time, so any number of
 * replicas may sweep at once. Budget does not wait for the sweeper: an expired hold stopped counting
 * when its lease ended.
 */
export async function sweepOnce(ctx: LedgerContext, store: Pick<LedgerStore, 'openRuns' | 'prune'>): Promise<SweepReport> {
  const report: SweepReport = { runs: 0, expired: 0, unmarked: 0, pruned: (await store.prune?.(Date.now())) ?? 0 };
  for (const runId of await store.openRuns(RUNS_PER_SWEEP)) {
    report.runs += 1;
    const res = await ctx.writer.run(ledgerKeys.run(runId), runCodec, sweepOp(recordsPruneBefore(ctx)));
    if (!res) {
      await ctx.marks.clear(runId);
      report.unmarked += 1;
      continue;
    }
    const windows = windowRefs(ctx, res.pipeline, res.tenant);
    await Promise.all(res.expired.flatMap((id) => windows.map((w) => ctx.writer.run(windowKey(w), windowCodec, dropHoldOp(id)))));
    if (res.expired.length > 0) ctx.log.info({ runId, reservations: res.expired }, 'leases expired: their budget is back in the pool');
    report.expired += res.expired.length;
    if (res.open === 0 && res.idleMs > OPEN_IDLE_MS) {
      await ctx.marks.clear(runId);
      report.unmarked += 1;
    }
  }
  return report;
}

/** Sweeps every `intervalMs` (±25 % so that replicas drift apart) until stopped. */
export function startSweeper(ctx: LedgerContext, store: Pick<LedgerStore, 'openRuns' | 'prune'>, intervalMs: number): { stop(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = sweepOnce(ctx, store)
        .then((r) => {
          if (r.expired > 0 || r.unmarked > 0) ctx.log.debug(r, 'sweep');
        })
        .catch((err: unknown) => ctx.log.warn({ err: errorMessage(err) }, 'sweep failed; trying again next interval'))
        .finally(() => {
          running = undefined;
          schedule();
        });
    }, intervalMs * (0.75 + Math.random() / 2));
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
