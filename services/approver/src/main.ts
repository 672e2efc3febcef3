#!/usr/bin/env node
import { configOrExit, runService } from '@pipewright/kit';
import { loadConfig } from './config.js';
import { loadTokens } from './security/tokens.js';
import { wireApprover } from './wire.js';

/**
 * The approver service: approval requests in, decisions out (HTTP API, web inbox, CLI, Slack),
 * deadlines enforced. Configuration and tokens are checked before anything connects: a bad variable
 * or token file exits with EX_CONFIG, naming it.
 */
const { config, tokens } = configOrExit(() => {
  const config = loadConfig();
  return { config, tokens: loadTokens(config) };
}, 'approver');
await runService('approver', config, async (rt) => {
  await wireApprover(rt, config, tokens);
  return {};
});
