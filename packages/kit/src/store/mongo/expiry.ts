/**
 * When each document may be removed, as an `expireAt` date every document carries. With a TTL index
 * (MongoDB) the server removes it at that instant; elsewhere (FerretDB) the retention sweeper removes
 * finished runs and the field is unused. No transactions tie a run to its steps, decisions and blobs,
 * so every rule here errs towards keeping a document longer, never shorter:
 *
 * - a run gets `expireAt` only when it finishes: finish + retention;
 * - a step, decision or blob written while its run is live gets an upper bound (written + the longest
 *   a run can live + retention), and the run's terminal write lowers it to the run's own instant;
 * - one written after its run finished (a late executor) keeps its upper bound.
 */

/** `RunLimits.deadlineMs` allows 30 days; one more for a planner that notices the deadline late. */
export const MAX_RUN_LIFETIME_MS = 31 * 86_400_000;

export class Expiry {
  constructor(
    /** How long a finished run is kept. */
    readonly retentionMs: number,
  ) {}

  /** Removal instant of a finished run and of everything it wrote before it finished. */
  ofFinishedRun(finishedAt: Date): Date {
    return new Date(finishedAt.getTime() + this.retentionMs);
  }

  /** Removal bound of a child document written at `writtenAt` by a run that may still be live. */
  ofChild(writtenAt: Date): Date {
    return new Date(writtenAt.getTime() + MAX_RUN_LIFETIME_MS + this.retentionMs);
  }
}

/** Parses an ISO timestamp; an unparsable one counts as now (it still sorts and expires sensibly). */
export function toDate(iso: string | undefined, now = new Date()): Date {
  const t = iso === undefined ? Number.NaN : Date.parse(iso);
  return Number.isNaN(t) ? now : new Date(t);
}
