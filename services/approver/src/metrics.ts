import { Counter, Gauge, type Logger, type Registry } from '@pipewright/kit';
import type { ApprovalStore } from './store/types.js';

/** A scrape reads the pending approvals at most this often (several scrapers cost one read). */
export const PENDING_SAMPLE_MIN_INTERVAL_MS = 5_000;
/** Most pending approvals read per sample: the count is capped here (a backlog this size is an alert already). */
export const PENDING_SAMPLE_LIMIT = 10_000;

export interface ApproverMetrics {
  /** Decisions recorded by a person or a channel (not repeats), by decision and channel. */
  decided: Counter<'decision' | 'channel'>;
  /** Decision writes that lost a compare-and-set race and were retried. */
  casConflicts: Counter<'store'>;
}

/**
 * The approver's metrics. `pw_approvals_pending` and `pw_approval_oldest_pending_age_seconds` are read
 * from the store when Prometheus scrapes (so every replica reports the same backlog: aggregate with
 * `max`, not `sum`); a store that cannot be read leaves them out of that scrape.
 */
export function createApproverMetrics(registry: Registry, approvals: ApprovalStore, log: Logger, now: () => number = Date.now): ApproverMetrics {
  const registers = [registry];
  let last: { at: number; sample: Promise<{ count: number; oldestMs: number | undefined } | undefined> } | undefined;
  const sample = () => {
    const at = now();
    if (last && at - last.at < PENDING_SAMPLE_MIN_INTERVAL_MS) return last.sample;
    const read = approvals.list({ status: 'pending', limit: PENDING_SAMPLE_LIMIT }).then(
      (pending) => ({ count: pending.length, oldestMs: pending.length ? Math.min(...pending.map((r) => Date.parse(r.request.requestedAt))) : undefined }),
      (err: unknown) => {
        log.debug({ err }, 'approval metrics: pending approvals not read');
        return undefined;
      },
    );
    last = { at, sample: read };
    return read;
  };
  new Gauge({
    name: 'pw_approvals_pending',
    help: `Approvals waiting for a decision (counted up to ${PENDING_SAMPLE_LIMIT})`,
    registers,
    async collect() {
      const s = await sample();
      this.reset();
      if (s) this.set(s.count);
    },
  });
  new Gauge({
    name: 'pw_approval_oldest_pending_age_seconds',
    help: 'Time the oldest pending approval has waited since it was requested (0 when none waits)',
    registers,
    async collect() {
      const s = await sample();
      this.reset();
      if (s) this.set(s.oldestMs === undefined ? 0 : Math.max(0, now() - s.oldestMs) / 1000);
    },
  });
  const casConflicts = new Counter({ name: 'pw_cas_conflicts_total', help: 'Compare-and-set writes that lost to another writer and were retried, by store', labelNames: ['store'], registers });
  casConflicts.inc({ store: 'approvals' }, 0); // a series from the start, so that rate() sees the first conflict
  return {
    decided: new Counter({ name: 'pw_approvals_decided_total', help: 'Approval decisions recorded (repeats excluded), by decision and channel', labelNames: ['decision', 'channel'], registers }),
    casConflicts,
  };
}
