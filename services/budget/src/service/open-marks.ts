import type { Logger } from '@pipewright/kit';
import { Lru } from '../ledger/lru.js';
import type { LedgerStore } from '../store/types.js';

/** A replica re-marks a run it reserves for at most this often. */
export const OPEN_MARK_TTL_MS = 5 * 60_000;
/** The sweeper unmarks a run with nothing open whose ledger has not changed for this long (> the TTL above). */
export const OPEN_IDLE_MS = 10 * 60_000;
const REMEMBERED_RUNS = 100_000;

/**
 * The sweeper's to-do list: runs that may hold open reservations. Marking is off the request path and
 * done once per run per replica (within the TTL), so it costs one store write per run, not per call. A
 * lost mark only delays the `expired` label: expired leases stop counting by themselves.
 */
export class OpenMarks {
  private readonly marked = new Lru<string, number>(REMEMBERED_RUNS);

  constructor(
    private readonly store: Pick<LedgerStore, 'markOpen' | 'clearOpen'>,
    private readonly log: Logger,
  ) {}

  ensure(runId: string, now = Date.now()): void {
    const at = this.marked.get(runId);
    if (at !== undefined && now - at < OPEN_MARK_TTL_MS) return;
    this.marked.set(runId, now);
    this.store.markOpen(runId).catch((err: unknown) => {
      this.marked.delete(runId);
      this.log.warn({ err, runId }, 'could not mark run for the sweeper');
    });
  }

  async clear(runId: string): Promise<void> {
    this.marked.delete(runId);
    await this.store.clearOpen(runId);
  }
}
