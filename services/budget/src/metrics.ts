import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { WriterStats } from './ledger/writer.js';

export interface BudgetMetrics {
  /** Requests answered, by endpoint and outcome (granted, denied, committed, released, status, error). */
  requests: Counter<'op' | 'outcome'>;
  duration: Histogram<'op'>;
  /** USD charged by commits that recorded usage (repeats excluded). */
  chargedUsd: Counter;
  inFlight: Gauge;
}

export function createMetrics(registry: Registry, writer: { stats: WriterStats }): BudgetMetrics {
  const registers = [registry];
  new Gauge({
    name: 'pw_budget_ledger_writes',
    help: 'Ledger writes and compare-and-set conflicts since start (conflicts: another replica wrote first)',
    labelNames: ['kind'],
    registers,
    collect() {
      this.set({ kind: 'write' }, writer.stats.writes);
      this.set({ kind: 'conflict' }, writer.stats.conflicts);
    },
  });
  return {
    requests: new Counter({ name: 'pw_budget_requests_total', help: 'Budget requests answered, by endpoint and outcome', labelNames: ['op', 'outcome'], registers }),
    duration: new Histogram({ name: 'pw_budget_request_seconds', help: 'Time to answer a budget request', labelNames: ['op'], registers, buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1] }),
    chargedUsd: new Counter({ name: 'pw_budget_charged_usd_total', help: 'USD charged by the price table for committed usage', registers }),
    inFlight: new Gauge({ name: 'pw_budget_in_flight', help: 'Budget requests being worked on by this replica', registers }),
  };
}
