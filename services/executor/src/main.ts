#!/usr/bin/env node
import { Kvm } from '@nats-io/kv';
import { buckets, consumers, StepCommand, streams, subjects, ToolCommand } from '@pipewright/contracts';
import { configOrExit, ensurePullConsumer, runService, startConsumer, TaskLog } from '@pipewright/kit';
import { BudgetClient, createBudgetGate } from './budget/index.js';
import { loadTokenizer } from './budget/tokens.js';
import { loadConfig } from './config.js';
import { createMetrics } from './metrics.js';
import { ConnectionWatch } from './ownership/connection-watch.js';
import { serveLiveness } from './ownership/liveness.js';
import { newOwnerId } from './ownership/owner-id.js';
import type { OwnedTaskDeps } from './ownership/owned-task.js';
import { HoldRegistry } from './ownership/registry.js';
import { startRescuer } from './ownership/rescuer.js';
import { Revocations } from './ownership/revocations.js';
import { ProviderRegistry } from './providers.js';
import { createStepHandler } from './step-handler.js';
import { createToolHandler } from './tools/tool-handler.js';

const config = configOrExit(loadConfig, 'executor');
// The tokenizer's one-time load holds the event loop; done here, before anything is served or consumed.
if (config.PW_EXECUTOR_BUDGET === 'enforce') await loadTokenizer();
await runService('executor', config, async (rt) => {
  const pool = config.PW_EXECUTOR_POOL;
  const owner = newOwnerId(pool);
  const log = rt.log.child({ pool, owner });
  const metrics = createMetrics(rt.registry);
  const stores = await rt.stores();

  // Ownership: the registry of held tasks (for rescue), liveness pings, revocations, and the rescuer of
  // peers that die. All of it is up before the first message is taken.
  const kv = await new Kvm(rt.nc).create(buckets.executors, { history: 1, replicas: config.PW_REPLICAS });
  const watch = new ConnectionWatch(config.PW_EXECUTOR_RECONNECT_GRACE_MS);
  watch.follow(rt.nc);
  // Each part is undone (in reverse) at shutdown, or when a failed start-up attempt is undone.
  const registry = new HoldRegistry(kv, owner, pool, log);
  registry.start();
  rt.shutdown.add('executor registry', () => registry.stop());
  const liveness = await serveLiveness(rt.nc, owner, (runId, task) => registry.holds(runId, task));
  rt.shutdown.add('liveness', () => Promise.resolve(liveness.unsubscribe()));
  const revocations = new Revocations(log);
  rt.shutdown.add('revocations', () => Promise.resolve(revocations.close()));
  await revocations.listen(rt.js);
  const owned: OwnedTaskDeps = {
    nc: rt.nc,
    watch,
    js: rt.js,
    taskLog: new TaskLog(rt.js, rt.jsm),
    registry,
    log,
    pingTimeoutMs: config.PW_EXECUTOR_PING_TIMEOUT_MS,
    revocations,
    onSkipped: () => metrics.skipped.inc(),
  };
  const rescuer = startRescuer({ nc: rt.nc, watch, kv, self: owner, log, intervalMs: config.PW_EXECUTOR_RESCUE_INTERVAL_MS, pingTimeoutMs: config.PW_EXECUTOR_PING_TIMEOUT_MS, onRescued: (_o, n) => metrics.rescued.inc(n) });
  // Shutdown order is the reverse of registration: consumers drain first, then the registry entry goes.
  rt.shutdown.add('rescuer', () => rescuer.stop());

  const enforce = config.PW_EXECUTOR_BUDGET === 'enforce';
  if (!enforce) log.warn('PW_EXECUTOR_BUDGET=off: model calls are not metered and no budget limit is enforced');
  const gate = enforce
    ? createBudgetGate({
        client: new BudgetClient(rt.nc, { timeoutMs: config.PW_BUDGET_TIMEOUT_MS, deadlineMs: config.PW_BUDGET_DEADLINE_MS }),
        log,
        leaseMarginMs: config.PW_BUDGET_LEASE_MARGIN_MS,
        onUnmetered: (why) => metrics.unmetered.inc({ why }),
      })
    : undefined;

  // AckWait is not what detects a dead executor (the rescuer and the leases are): it only bounds how long
  // a message of a process that froze without dying stays with it, so it is long. Deliveries are
  // unlimited: a step handed back (parked, or waiting for its holder) must never run out of them; a
  // command that cannot be decoded is still refused and dead-lettered at once.
  const common = { ackWaitMs: config.PW_EXECUTOR_ACK_WAIT_MS, maxDeliver: -1, maxAckPending: 10_000 };
  const durable = consumers.executor(pool);
  await ensurePullConsumer(rt.jsm, { stream: streams.steps.name, durable, filterSubjects: [subjects.stepDispatch(pool)], ...common });
  const toolDurable = consumers.executorTools(pool);
  await ensurePullConsumer(rt.jsm, { stream: streams.steps.name, durable: toolDurable, filterSubjects: [subjects.toolDispatch(pool)], ...common });
  rt.watchConsumer(streams.steps.name, durable);
  rt.watchConsumer(streams.steps.name, toolDurable);

  const handler = createStepHandler({
    owned,
    blobs: stores.blobs,
    providers: new ProviderRegistry(config),
    tracer: rt.tracer,
    log,
    metrics,
    logContent: config.PW_LOG_CONTENT,
    claimThresholdBytes: config.PW_CLAIM_THRESHOLD_BYTES,
    ...(gate ? { gate } : {}),
  });
  // Every message delivered is listed in the registry at once (a message buffered for a free slot too):
  // a peer hands it back if this process dies before it is done.
  const tracker = { received: (ack: string) => registry.received(ack), settled: (ack: string) => registry.settled(ack) };
  const base = { js: rt.js, service: 'executor', stream: streams.steps.name, concurrency: config.PW_EXECUTOR_CONCURRENCY, ackWaitMs: config.PW_EXECUTOR_ACK_WAIT_MS, maxDeliver: -1, tracker };
  const steps = await startConsumer({ ...base, durable, schema: StepCommand, handler, log, spanName: subjects.stepDispatch(pool), spanNameOf: stepSpanName });
  rt.shutdown.add('consumer', (graceMs) => steps.stop(graceMs));
  // Tool calls of agent steps: their own consumer, so tools never wait behind model calls.
  const tools = await startConsumer({
    ...base,
    durable: toolDurable,
    schema: ToolCommand,
    handler: createToolHandler({ nc: rt.nc, owned, log }),
    log: log.child({ consumer: 'tools' }),
    spanName: subjects.toolDispatch(pool),
  });
  rt.shutdown.add('tool-consumer', (graceMs) => tools.stop(graceMs));
  log.info({ baseURL: config.OPENAI_BASE_URL, ackWaitMs: config.PW_EXECUTOR_ACK_WAIT_MS }, 'executor serving pool');
  return {};
});

/** `step outline`, or `step research turn 3` for an agent's turn: what the dispatch asks for. */
function stepSpanName(cmd: StepCommand): string {
  return cmd.kind === 'agent-turn' && cmd.turn !== undefined ? `step ${cmd.stepId} turn ${cmd.turn}` : `step ${cmd.stepId}`;
}
