#!/usr/bin/env node
import { consumers, StepCommand, streams, subjects, ToolCommand } from '@pipewright/contracts';
import { configOrExit, ensurePullConsumer, runService, startConsumer } from '@pipewright/kit';
import { BudgetClient, createBudgetGate } from './budget/index.js';
import { loadConfig } from './config.js';
import { createMetrics } from './metrics.js';
import { ProviderRegistry } from './providers.js';
import { createStepHandler } from './step-handler.js';
import { createToolHandler } from './tools/tool-handler.js';

const config = configOrExit(loadConfig, 'executor');
await runService('executor', config, async (rt) => {
  const pool = config.PW_EXECUTOR_POOL;
  const durable = consumers.executor(pool);
  await ensurePullConsumer(rt.jsm, {
    stream: streams.steps.name,
    durable,
    filterSubjects: [subjects.stepDispatch(pool)],
    ackWaitMs: config.PW_EXECUTOR_ACK_WAIT_MS,
    maxDeliver: config.PW_EXECUTOR_MAX_DELIVER,
  });
  const metrics = createMetrics(rt.registry);
  const enforce = config.PW_EXECUTOR_BUDGET === 'enforce';
  if (!enforce) rt.log.warn('PW_EXECUTOR_BUDGET=off: model calls are not metered and no budget limit is enforced');
  const gate = enforce
    ? createBudgetGate({
        client: new BudgetClient(rt.nc, { timeoutMs: config.PW_BUDGET_TIMEOUT_MS, deadlineMs: config.PW_BUDGET_DEADLINE_MS }),
        log: rt.log,
        leaseMarginMs: config.PW_BUDGET_LEASE_MARGIN_MS,
        onUnmetered: (why) => metrics.unmetered.inc({ why }),
      })
    : undefined;
  const handler = createStepHandler({
    js: rt.js,
    stores: await rt.stores(),
    providers: new ProviderRegistry(config),
    tracer: rt.tracer,
    log: rt.log,
    metrics,
    logContent: config.PW_LOG_CONTENT,
    claimThresholdBytes: config.PW_CLAIM_THRESHOLD_BYTES,
    ...(gate ? { gate } : {}),
  });
  const consumer = await startConsumer({
    js: rt.js,
    service: 'executor',
    stream: streams.steps.name,
    durable,
    schema: StepCommand,
    handler,
    log: rt.log.child({ pool }),
    concurrency: config.PW_EXECUTOR_CONCURRENCY,
    ackWaitMs: config.PW_EXECUTOR_ACK_WAIT_MS,
    maxDeliver: config.PW_EXECUTOR_MAX_DELIVER,
    spanName: subjects.stepDispatch(pool),
  });
  rt.shutdown.add('consumer', (graceMs) => consumer.stop(graceMs));

  // Tool calls of agent steps: their own consumer, so tools never wait behind model calls.
  const toolDurable = consumers.executorTools(pool);
  await ensurePullConsumer(rt.jsm, {
    stream: streams.steps.name,
    durable: toolDurable,
    filterSubjects: [subjects.toolDispatch(pool)],
    ackWaitMs: config.PW_EXECUTOR_ACK_WAIT_MS,
    maxDeliver: config.PW_EXECUTOR_MAX_DELIVER,
  });
  const tools = await startConsumer({
    js: rt.js,
    service: 'executor',
    stream: streams.steps.name,
    durable: toolDurable,
    schema: ToolCommand,
    handler: createToolHandler({ nc: rt.nc, js: rt.js, log: rt.log, toolCalls: (await rt.stores()).toolCalls }),
    log: rt.log.child({ pool, consumer: 'tools' }),
    concurrency: config.PW_EXECUTOR_CONCURRENCY,
    ackWaitMs: config.PW_EXECUTOR_ACK_WAIT_MS,
    maxDeliver: config.PW_EXECUTOR_MAX_DELIVER,
    spanName: subjects.toolDispatch(pool),
  });
  rt.shutdown.add('tool-consumer', (graceMs) => tools.stop(graceMs));
  rt.log.info({ pool, baseURL: config.OPENAI_BASE_URL }, 'executor serving pool');
  return {};
});
