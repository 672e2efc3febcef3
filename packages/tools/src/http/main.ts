#!/usr/bin/env node
import { runService } from '@pipewright/kit';
import { kvReceipts } from '../receipts/kv.js';
import { memoryReceipts } from '../receipts/memory.js';
import { loadConfig } from './config.js';
import { serveHttpTool } from './tool.js';

const config = loadConfig();
await runService(`tool-${config.PW_HTTP_TOOL_NAME}`, config, async (rt) => {
  const dedupe =
    config.PW_HTTP_TOOL_RECEIPTS === 'kv' ? await kvReceipts(rt.nc, { replicas: config.PW_REPLICAS }) : config.PW_HTTP_TOOL_RECEIPTS === 'memory' ? memoryReceipts() : undefined;
  const tool = await serveHttpTool(rt.nc, {
    name: config.PW_HTTP_TOOL_NAME,
    policy: config.policy,
    dedupe,
    concurrency: config.PW_HTTP_TOOL_CONCURRENCY,
    log: rt.log,
  });
  // Registered after NATS, so it runs before the connection drains (shutdown steps run in reverse).
  rt.shutdown.add('tool', (graceMs) => tool.stop(graceMs));
  rt.log.info({ tool: tool.name, allowPrivate: config.PW_HTTP_TOOL_ALLOW_PRIVATE !== false }, 'http tool ready');
  return {};
});
