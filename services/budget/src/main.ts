#!/usr/bin/env node
import { runService } from '@pipewright/kit';
import { loadConfig } from './config.js';
import { serveBudget } from './endpoints.js';
import { LedgerWriter } from './ledger/writer.js';
import { createMetrics } from './metrics.js';
import type { LedgerContext } from './service/context.js';
import { OpenMarks } from './service/open-marks.js';
import { startSweeper } from './service/sweeper.js';
import { startSpendConsumer, SPEND_CONSUMER } from './spend/consumer.js';
import { BookingHorizon } from './spend/horizon.js';
import { openBudgetStore } from './store/open.js';

const config = loadConfig();
await runService('budget', config, async (rt) => {
  const store = await openBudgetStore(config, rt.nc);
  rt.shutdown.add('store', () => store.close());
  const writer = new LedgerWriter(store, rt.log);
  const horizon = new BookingHorizon(rt.jsm, SPEND_CONSUMER, rt.log);
  const ctx: LedgerContext = {
    writer,
    settings: config.settings,
    marks: new OpenMarks(store, rt.log),
    retentionMs: config.PW_BUDGET_RECORD_RETENTION_MS,
    log: rt.log,
    bookedThrough: horizon.bookedThrough,
  };
  const metrics = createMetrics(rt.registry, writer, horizon);
  // The spend consumer exists before the first reserve is answered, so that the spending of every
  // reservation this service grants is published after it (it starts with new events only).
  const spend = await startSpendConsumer(rt, ctx, metrics);
  rt.shutdown.add('spend events', (graceMs) => spend.stop(graceMs));
  await horizon.start();
  rt.shutdown.add('booking horizon', () => horizon.stop());
  const endpoints = serveBudget(rt.nc, ctx, { tracer: rt.tracer, metrics, maxInFlight: config.PW_BUDGET_MAX_IN_FLIGHT });
  // Ready means subscribed: the server has the queue subscriptions before /readyz says so.
  await rt.nc.flush();
  // Registered after the store, so they stop first (in reverse): no new requests, then the sweeper, the
  // horizon and the spend events (in-flight bookings finish or are handed back), then the store.
  const sweeper = config.PW_BUDGET_SWEEP_INTERVAL_MS > 0 ? startSweeper(ctx, store, config.PW_BUDGET_SWEEP_INTERVAL_MS) : undefined;
  rt.shutdown.add('sweeper', async () => sweeper?.stop());
  rt.shutdown.add('endpoints', (graceMs) => endpoints.stop(graceMs));
  const s = config.settings.doc;
  rt.log.info({ store: store.kind, prices: Object.keys(s.prices).length, pipelines: Object.keys(s.pipelines).length, tenants: Object.keys(s.tenants).length }, 'budget service serving');
  return {};
});
