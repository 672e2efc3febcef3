#!/usr/bin/env node
import { configOrExit, runService } from '@pipewright/kit';
import { loadConsoleTokens } from './auth.js';
import { loadConfig, loadWebhooks } from './config.js';
import { wireConsole } from './wire.js';

/**
 * The console service: the runs API (and dashboard) over an index of every run kept from PW_EVENTS,
 * and run-end webhooks. Configuration, tokens and webhook endpoints are checked before anything
 * connects: a bad one exits with EX_CONFIG, naming its variable.
 */
const { config, tokens, webhooks } = configOrExit(() => {
  const config = loadConfig();
  return { config, tokens: loadConsoleTokens(config), webhooks: loadWebhooks(config) };
}, 'console');
await runService('console', config, async (rt) => {
  const { model } = await wireConsole(rt, config, tokens, webhooks);
  // Ready once the index has caught up: a list answered before then would miss runs.
  return { ready: () => model.ready };
});
