#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import { streams, subjects } from '@pipewright/contracts';
import { configOrExit, retryStartup, runService, startRetentionSweeper, TaskLog } from '@pipewright/kit';
import { RunApplier } from './apply.js';
import { loadConfig } from './config.js';
import { startPlannerConsumers } from './consumers.js';
import { createPlannerMetrics } from './metrics.js';
import { Outbox } from './outbox.js';
import { resultReader } from './result-refs.js';
import { ToolResolver } from './tool-resolver.js';

const config = configOrExit(loadConfig, 'planner');
await runService('planner', config, async (rt) => {
  const stores = await rt.stores();
  // This process's name in the outbox entries it writes: unique per process, so a restarted planner
  // never takes a dead one's entries for its own.
  const writer = `planner-${randomBytes(4).toString('hex')}`;
  const outbox = new Outbox(writer, rt.js, new TaskLog(rt.js, rt.jsm), stores.blobs, rt.log);
  const applier = new RunApplier(stores, outbox, rt.log, { maxStateBytes: config.PW_RUN_STATE_MAX_BYTES }, resultReader(rt.jsm, stores.blobs), createPlannerMetrics(rt.registry));
  // Retention: the planner owns runs, so it removes finished ones (a no-op where the store has TTL
  // indexes), with their events: task logs and the decision trail.
  const sweeper = startRetentionSweeper({
    stores,
    olderThanMs: config.PW_RETENTION_MS,
    intervalMs: config.PW_RETENTION_SWEEP_MS,
    log: rt.log,
    purgeEvents: async (runId) => {
      await rt.jsm.streams.purge(streams.events.name, { filter: subjects.runEvents(runId) });
    },
  });
  rt.shutdown.add('retention', () => sweeper.stop());
  // The tool registry, read at every submit: created here when the planner owns the topology.
  const tools = await retryStartup('tool registry', () => ToolResolver.open(rt.nc, { create: config.PW_TOPOLOGY === 'manage', replicas: config.PW_REPLICAS }), { log: rt.log });
  await startPlannerConsumers(rt, config, applier, tools);
  rt.log.info({ writer }, 'planner ready');
  return {};
});
