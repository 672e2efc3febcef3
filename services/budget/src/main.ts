#!/usr/bin/env node
import { runService } from '@pipewright/kit';
import { loadConfig } from './config.js';
import { serveBudget } from './endpoints.js';

const config = loadConfig();
await runService('budget', config, (rt) => {
  const subs = serveBudget(rt.nc, rt.log);
  rt.shutdown.add('endpoints', async () => {
    for (const s of subs) s.unsubscribe();
    await Promise.resolve();
  });
  return Promise.resolve({});
});
