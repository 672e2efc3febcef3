#!/usr/bin/env node
import { configOrExit, runService } from '@pipewright/kit';
import { RunApplier } from './apply.js';
import { loadConfig } from './config.js';
import { startPlannerConsumers } from './consumers.js';

const config = configOrExit(loadConfig, 'planner');
await runService('planner', config, async (rt) => {
  const applier = new RunApplier(await rt.stores(), rt.js, rt.log);
  const handles = await startPlannerConsumers(rt, config, applier);
  rt.shutdown.add('consumers', async (graceMs) => {
    await Promise.all(handles.map((h) => h.stop(graceMs)));
  });
  return {};
});
