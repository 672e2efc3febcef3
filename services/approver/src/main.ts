#!/usr/bin/env node
import { ApprovalRequest, consumers, streams, subjects } from '@pipewright/contracts';
import { ACK, ensurePullConsumer, runService, startConsumer } from '@pipewright/kit';
import { loadConfig } from './config.js';

/**
 * The approver, wired up: it consumes approval requests (validated; bad ones go to the DLQ) and records
 * them in its log. Persistence, decisions and the channels come with the approver issue.
 */
const config = loadConfig();
await runService('approver', config, async (rt) => {
  const common = { ackWaitMs: 30_000, maxDeliver: 10 };
  await ensurePullConsumer(rt.jsm, { stream: streams.approvals.name, durable: consumers.approver, filterSubjects: [subjects.approvalRequest], ...common });
  const consumer = await startConsumer({
    js: rt.js,
    service: 'approver',
    stream: streams.approvals.name,
    durable: consumers.approver,
    schema: ApprovalRequest,
    log: rt.log,
    concurrency: 16,
    spanName: subjects.approvalRequest,
    ...common,
    handler: (req, ctx) => {
      ctx.log.info({ approvalId: req.approvalId, runId: req.runId, stepId: req.stepId }, 'approval requested');
      return Promise.resolve(ACK);
    },
  });
  rt.shutdown.add('consumer', (graceMs) => consumer.stop(graceMs));
  return {};
});
