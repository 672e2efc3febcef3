#!/usr/bin/env node
import { configOrExit, runService, startRetentionSweeper } from '@pipewright/kit';
import { RunApplier } from './apply.js';
import { loadConfig } from './config.js';
import { startPlannerConsumers } from './consumers.js';

const config = configOrExit(loadConfig, 'planner');
await runService('planner', config, async (rt) => {
  const stores = await rt.stores();
  const applier = new RunApplier(stores, rt.js, rt.log);
  // Retention: the planner owns runs, so it removes finished ones (a no-op where the store has TTL indexes).
  const sweeper = startRetentionSweeper({ stores, olderThanMs: config.PW_RETENTION_MS, intervalMs: config.PW_RETENTION_SWEEP_MS, log: rt.log });
  rt.shutdown.add('retention', () => sweeper.stop());
  const handles = await startPlannerConsumers(rt, config, applier);
  rt.shutdown.add('consumers', async (graceMs) => {
    await Promise.all(handles.map((h) => h.stop(graceMs)));
  });
  return {};
});
