import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { WriterStats } from './ledger/writer.js';

export interface BudgetMetrics {
  /** Requests answered, by endpoint and outcome (granted, denied, committed, released, status, error). */
  requests: Counter<'op' | 'outcome'>;
  duration: Histogram<'op'>;
  /** USD reserved by reservations granted (repeats excluded). */
  reservedUsd: Counter;
  /** USD committed: usage recorded at the reservation's price (requests and spend events; repeats excluded). */
  committedUsd: Counter;
  /** Reservations denied, by the limit that denied them (repeats excluded). */
  denials: Counter<'limit'>;
  inFlight: Gauge;
  /** Spend entries booked from task events: committed, released (nothing used), repeated (booked before). */
  booked: Counter<'outcome'>;
}

export function createMetrics(registry: Registry, writer: { stats: WriterStats }, horizon?: { bookedThrough(): number }): BudgetMetrics {
  const registers = [registry];
  if (horizon)
    new Gauge({
      name: 'pw_budget_booking_lag_seconds',
      help: 'How far behind spend events are booked, as this replica last read it; while it grows (an outage, an event that keeps failing) ledger records are kept longer',
      registers,
      collect() {
        const through = horizon.bookedThrough();
        if (Number.isFinite(through)) this.set(Math.max(0, Date.now() - through) / 1000);
      },
    });
  // The writer counts; these report its counts (a counter, set to the writer's total at each scrape).
  new Counter({
    name: 'pw_budget_ledger_writes_total',
    help: 'Ledger documents written since start',
    registers,
    collect() {
      this.reset();
      this.inc(writer.stats.writes);
    },
  });
  new Counter({
    name: 'pw_cas_conflicts_total',
    help: 'Compare-and-set writes that lost to another writer and were retried, by store',
    labelNames: ['store'],
    registers,
    collect() {
      this.reset();
      this.inc({ store: 'budget-ledger' }, writer.stats.conflicts);
    },
  });
  return {
    requests: new Counter({ name: 'pw_budget_requests_total', help: 'Budget requests answered, by endpoint and outcome', labelNames: ['op', 'outcome'], registers }),
    duration: new Histogram({ name: 'pw_budget_request_seconds', help: 'Time to answer a budget request', labelNames: ['op'], registers, buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1] }),
    reservedUsd: new Counter({ name: 'pw_budget_reserved_usd_total', help: 'USD reserved by granted reservations (repeated requests excluded)', registers }),
    committedUsd: new Counter({ name: 'pw_budget_committed_usd_total', help: 'USD committed for actual usage, at the price each reservation was granted at', registers }),
    denials: new Counter({ name: 'pw_budget_denials_total', help: 'Reservations denied, by the limit that denied them (run.maxUsd, pipeline.maxTokens, price, ...)', labelNames: ['limit'], registers }),
    inFlight: new Gauge({ name: 'pw_budget_in_flight', help: 'Budget requests being worked on by this replica', registers }),
    booked: new Counter({ name: 'pw_budget_spend_booked_total', help: 'Spend entries of task events booked, by outcome (committed, released, repeated)', labelNames: ['outcome'], registers }),
  };
}
