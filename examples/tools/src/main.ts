#!/usr/bin/env node
// Serves the example tools `lookup-order` and `refund`: `node examples/tools/dist/main.js` (NATS_URL).
import { runService } from '@pipewright/kit';
import { kvReceipts, memoryReceipts } from '@pipewright/tools';
import { loadConfig } from './config.js';
import { serveLookupOrder } from './lookup-order.js';
import { serveRefund, type Refund } from './refund.js';

const config = loadConfig();
await runService('example-tools', config, async (rt) => {
  const dedupe = config.PW_EXAMPLE_RECEIPTS === 'kv' ? await kvReceipts(rt.nc) : memoryReceipts();
  const ledger: Refund[] = [];
  const tools = [await serveLookupOrder(rt.nc), await serveRefund(rt.nc, { dedupe, ledger, log: rt.log })];
  rt.shutdown.add('tools', async (graceMs) => {
    await Promise.all(tools.map((t) => t.stop(graceMs)));
  });
  // Ready once the registry has their entries: a pipeline naming them without schemas then resolves.
  // (Their entries are written as soon as the bucket exists: the planner creates it.)
  await Promise.all(tools.map((t) => t.registered));
  rt.log.info({ tools: tools.map((t) => t.name) }, 'example tools ready');
  return {};
});
