import type { Logger } from '../logger.js';
import type { Stores } from './types.js';

/** Runs removed per query; each is removed child-first, one at a time. */
export const SWEEP_BATCH_SIZE = 100;
/** Most runs one sweep removes, so that a backlog is worked off over several sweeps, not in one burst. */
export const SWEEP_MAX_RUNS = 5_000;

export interface SweepOptions {
  /** Finished runs older than this (by `finishedAt`) are removed. */
  olderThanMs: number;
  /** @default new Date() */
  now?: Date;
  /** @default SWEEP_MAX_RUNS */
  maxRuns?: number;
  /** Removes what a run left outside the store (its events on the bus); called before the run goes. */
  purgeEvents?: (runId: string) => Promise<void>;
}

export interface SweepResult {
  /** Runs removed with their blobs and events. */
  runs: number;
  blobs: number;
  /** Whether runs past retention were left for the next sweep (`maxRuns` reached). */
  more: boolean;
}

/**
 * Removes finished runs past retention: blobs and events (task logs, decision trail) first, the run
 * last, so a sweep that dies half-way leaves the run listed and the next sweep finishes it.
 * Idempotent, so any number of replicas may sweep at once.
 */
export async function sweepFinishedRuns(stores: Stores, opts: SweepOptions): Promise<SweepResult> {
  const cutoff = new Date((opts.now ?? new Date()).getTime() - opts.olderThanMs);
  const maxRuns = opts.maxRuns ?? SWEEP_MAX_RUNS;
  const result: SweepResult = { runs: 0, blobs: 0, more: false };
  for (;;) {
    const room = maxRuns - result.runs;
    if (room <= 0) {
      result.more = (await stores.runs.listFinishedBefore(cutoff, 1)).length > 0;
      return result;
    }
    const ids = await stores.runs.listFinishedBefore(cutoff, Math.min(SWEEP_BATCH_SIZE, room));
    for (const runId of ids) {
      const [blobs] = await Promise.all([stores.blobs.deleteRun(runId), opts.purgeEvents?.(runId)]);
      await stores.runs.delete(runId);
      result.runs += 1;
      result.blobs += blobs;
    }
    if (ids.length < Math.min(SWEEP_BATCH_SIZE, room)) return result;
  }
}

export interface RetentionSweeperOptions {
  stores: Stores;
  /** `PW_RETENTION_MS` */
  olderThanMs: number;
  /** `PW_RETENTION_SWEEP_MS`; 0 disables the sweeper. Each wait is jittered by ±20 %. */
  intervalMs: number;
  log: Logger;
  /** See SweepOptions.purgeEvents. */
  purgeEvents?: (runId: string) => Promise<void>;
}

export interface RetentionSweeper {
  /** Whether sweeps are scheduled (not when the store expires runs itself, or the interval is 0). */
  readonly active: boolean;
  /** Sweeps now (also while stopped); resolves with what was removed. */
  sweepNow(): Promise<SweepResult>;
  /** Cancels the next sweep and waits for one in progress. */
  stop(): Promise<void>;
}

const jittered = (ms: number) => Math.round(ms * (0.8 + Math.random() * 0.4));

/**
 * Sweeps every `intervalMs` where the store needs it (`stores.retention === 'sweep'`). With a TTL index
 * the server removes expired documents itself and this does nothing.
 */
export function startRetentionSweeper(opts: RetentionSweeperOptions): RetentionSweeper {
  const { stores, log } = opts;
  const active = stores.retention === 'sweep' && opts.intervalMs > 0;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<SweepResult> | undefined;
  let stopped = false;

  const sweepNow = (): Promise<SweepResult> => {
    running ??= sweepFinishedRuns(stores, { olderThanMs: opts.olderThanMs, ...(opts.purgeEvents ? { purgeEvents: opts.purgeEvents } : {}) }).finally(() => (running = undefined));
    return running;
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      void sweepNow().then(
        (r) => {
          if (r.runs > 0) log.info({ removedRuns: r.runs, removedBlobs: r.blobs, more: r.more }, 'retention sweep removed finished runs');
        },
        (err: unknown) => log.warn({ err }, 'retention sweep failed; trying again at the next interval'),
      ).finally(schedule);
    }, jittered(opts.intervalMs));
    // A pending sweep must not keep a process alive that is otherwise done.
    timer.unref();
  };

  if (active) schedule();
  else log.debug({ retention: stores.retention, intervalMs: opts.intervalMs }, 'retention sweeper not scheduled');
  return {
    active,
    sweepNow,
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}
