import type { JetStreamClient } from '@nats-io/jetstream';
import type { Tracer } from '@opentelemetry/api';
import { headers as H, msgIds, SCHEMA_VERSION, subjects, type StepCommand, type StepCompleted, type StepFailed } from '@pipewright/contracts';
import { ACK, checkIn, DEFAULT_CLAIM_THRESHOLD_BYTES, publishJson, type Logger, type MessageContext, type Outcome, type Stores } from '@pipewright/kit';
import { BreakerRegistry, type BreakerChange } from './llm/breakers.js';
import { runStep } from './llm/chain.js';
import type { CallGate } from './llm/gate.js';
import { parkStep } from './llm/parking.js';
import { BREAKER_STATE_VALUE, type ExecutorMetrics } from './metrics.js';
import type { ProviderRegistry } from './providers.js';

export interface StepHandlerDeps {
  js: JetStreamClient;
  stores: Stores;
  providers: ProviderRegistry;
  tracer: Tracer;
  log: Logger;
  metrics: ExecutorMetrics;
  logContent: boolean;
  /** Checked before every model call (the budget). */
  gate?: CallGate;
  /** Step outputs larger than this (bytes of JSON) are stored once and sent as a claim reference. */
  claimThresholdBytes?: number;
  /** This process's breakers; made from the providers' breaker options when not given. */
  breakers?: BreakerRegistry;
}

/** The turn of an agent-turn command or result; undefined for a plain step. */
const turnOf = (c: { task?: string; kind?: string; turn?: number | undefined }) => (c.kind === 'agent-turn' || c.task === 'agent-turn' ? c.turn : undefined);

/** The result of a completed step (or agent turn) is published once, whatever the attempt. */
const completedMsgId = (c: StepCompleted) => {
  return msgIds.event(c.runId, 'step.completed', msgIds.task(c.stepId, turnOf(c)));
};

/**
 * Handles one step command. Effects once: a step whose completion is checkpointed is never sent to a
 * model again; its stored result is republished. The checkpoint is written before the result is
 * published, so a crash in between is repaired by the redelivery.
 */
export function createStepHandler(deps: StepHandlerDeps): (cmd: StepCommand, ctx: MessageContext) => Promise<Outcome> {
  const breakers = deps.breakers ?? new BreakerRegistry(deps.providers.breakerOptions, (c) => onBreakerChange(deps, c));
  return async (cmd, ctx) => {
    ctx.span.setAttributes({ 'pw.run.id': cmd.runId, 'pw.step.id': cmd.stepId, 'pw.step.attempt': cmd.attempt });
    const log = ctx.log.child({ runId: cmd.runId, stepId: cmd.stepId, attempt: cmd.attempt });
    // Only a command that may have been handled before needs the checkpoint read: a redelivery, or one
    // the planner replayed from its outbox. A fresh first delivery cannot have a completion (JetStream
    // drops a repeated msg id inside the dedupe window; outside it, only a replay repeats a command).
    const mayBeDone = ctx.deliveryCount > 1 || ctx.header(H.replay) !== undefined;
    const turn = turnOf(cmd);
    const stored = mayBeDone ? await deps.stores.steps.get(cmd.runId, cmd.stepId, turn) : undefined;
    if (stored) {
      await publishJson(deps.js, subjects.runEvent(cmd.runId, 'step.completed'), stored, { msgId: completedMsgId(stored) });
      deps.metrics.replayed.inc();
      log.info('step already completed: republished its checkpointed result, no model call');
      return ACK;
    }
    const started = performance.now();
    const outcome = await runStep(cmd, {
      providers: deps.providers,
      breakers,
      tracer: deps.tracer,
      log,
      metrics: deps.metrics,
      signal: ctx.signal,
      logContent: deps.logContent,
      delivery: `s${ctx.seq}d${ctx.deliveryCount}`,
      ...(deps.gate ? { gate: deps.gate } : {}),
    });
    const latencyMs = Math.round((performance.now() - started) * 1000) / 1000;
    const at = new Date().toISOString();
    const base = {
      schemaVersion: SCHEMA_VERSION,
      runId: cmd.runId,
      stepId: cmd.stepId,
      attempt: cmd.attempt,
      task: cmd.kind,
      ...(turn !== undefined ? { turn } : {}),
      latencyMs,
      at,
    } as const;

    if (outcome.kind === 'interrupted') return { kind: 'retry', delayMs: 0, reason: 'executor shutting down' };
    ctx.span.setAttributes({ 'pw.step.outcome': outcome.kind, 'pw.step.calls': outcome.calls, 'pw.step.model': `${outcome.model.provider}/${outcome.model.model}`, 'pw.breaker.state': outcome.breakers.state, 'pw.breaker.chain': outcome.breakers.chain });
    deps.metrics.stepDuration.observe({ outcome: outcome.kind }, latencyMs / 1000);
    if (outcome.kind === 'parked') {
      deps.metrics.parked.inc();
      return parkStep({ js: deps.js, log }, cmd, ctx, outcome);
    }
    // A gate's "not now" (the budget service unreachable, failing closed) pauses the run the same way,
    // with the gate's reason on it; the step is tried again after the delay.
    if (outcome.kind === 'deferred') return parkStep({ js: deps.js, log }, cmd, ctx, { ...outcome, kind: 'parked' });
    if (outcome.kind === 'succeeded') {
      ctx.span.setAttribute('pw.step.rung', outcome.rung);
      // Claim check: a large output is stored once; the checkpoint and the event carry its reference.
      // (An agent turn's action stays inline: the planner reads it as it is.)
      const output = cmd.kind === 'llm' ? await checkIn(outcome.output, { runId: cmd.runId, blobs: deps.stores.blobs, thresholdBytes: deps.claimThresholdBytes ?? DEFAULT_CLAIM_THRESHOLD_BYTES }) : outcome.output;
      const result: StepCompleted = { ...base, type: 'step.completed', model: outcome.model, output, rung: outcome.rung, usage: outcome.usage, ...cost(outcome.costUsd), calls: outcome.calls };
      // First write wins: if another replica finished the same step meanwhile, publish its result.
      const written = await deps.stores.steps.put(result);
      const winner = written === 'created' ? result : ((await deps.stores.steps.get(cmd.runId, cmd.stepId, turn)) ?? result);
      await publishJson(deps.js, subjects.runEvent(cmd.runId, 'step.completed'), winner, { msgId: completedMsgId(winner) });
      log.info({ calls: outcome.calls, rung: outcome.rung, model: outcome.model.model, latencyMs, tokens: outcome.usage.totalTokens }, 'step completed');
      return ACK;
    }
    const failed: StepFailed = { ...base, type: 'step.failed', model: outcome.model, error: outcome.error, usage: outcome.usage, ...cost(outcome.costUsd), calls: outcome.calls };
    const failedKey = `${msgIds.task(cmd.stepId, turn)}:${cmd.attempt}`;
    await publishJson(deps.js, subjects.runEvent(cmd.runId, 'step.failed'), failed, { msgId: msgIds.event(cmd.runId, 'step.failed', failedKey) });
    log.warn({ error: outcome.error, calls: outcome.calls, breakers: outcome.breakers.chain }, 'step failed');
    return ACK;
  };
}

const cost = (usd: number | undefined) => (usd === undefined ? {} : { costUsd: Math.round(usd * 1e9) / 1e9 });

function onBreakerChange(deps: StepHandlerDeps, c: BreakerChange): void {
  deps.metrics.breakerState.set({ provider: c.provider, model: c.model }, BREAKER_STATE_VALUE[c.state]);
  deps.metrics.breakerTransitions.inc({ provider: c.provider, model: c.model, state: c.state });
  const line = { provider: c.provider, model: c.model, endpoint: c.endpoint, breaker: c.state };
  if (c.state === 'open') deps.log.warn({ ...line, resetTimeoutMs: deps.providers.breakerOptions.resetTimeoutMs }, 'breaker opened: model considered down');
  else deps.log.info(line, c.state === 'closed' ? 'breaker closed: model answering again' : 'breaker half-open: next call is a probe');
}
