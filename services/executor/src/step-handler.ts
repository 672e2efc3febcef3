import type { Tracer } from '@opentelemetry/api';
import { headers as H, SCHEMA_VERSION, type StepCommand, type StepCompleted, type StepFailed, type StepParked } from '@pipewright/contracts';
import { checkIn, DEFAULT_CLAIM_THRESHOLD_BYTES, lazyChild, type BlobStore, type Logger, type MessageContext, type Outcome } from '@pipewright/kit';
import { BreakerRegistry, type BreakerChange } from './llm/breakers.js';
import { runStep, type StepOutcome } from './llm/chain.js';
import { ATTR_COST_USD } from './llm/span.js';
import type { CallGate } from './llm/gate.js';
import { BREAKER_STATE_VALUE, type ExecutorMetrics } from './metrics.js';
import { runOwned, type OwnedTaskDeps, type Work, type WorkResult } from './ownership/owned-task.js';
import type { ProviderRegistry } from './providers.js';

export interface StepHandlerDeps {
  owned: OwnedTaskDeps;
  blobs: BlobStore;
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

/**
 * Handles one delivery of a step command (an `llm` step or an agent's model turn) under the task's lease
 * (ownership/): a model is called only by the delivery that holds the lease, and the result appended to
 * the task's log is its checkpoint, so a redelivered or replayed command for a finished step calls no
 * model. A run that ends while the step runs aborts the call (the revocation), and what was spent is
 * reported with the final result all the same.
 */
export function createStepHandler(deps: StepHandlerDeps): (cmd: StepCommand, ctx: MessageContext) => Promise<Outcome> {
  const breakers =
    deps.breakers ??
    new BreakerRegistry(
      deps.providers.breakerOptions,
      (c) => onBreakerChange(deps, c),
      (t) => deps.metrics.breakerState.set({ provider: t.provider, model: t.model }, BREAKER_STATE_VALUE.closed),
    );
  return (cmd, ctx) => {
    ctx.span.setAttributes({ 'pw.run.id': cmd.runId, 'pw.step.id': cmd.stepId, 'pw.step.attempt': cmd.attempt });
    const log = lazyChild(ctx.log, { runId: cmd.runId, stepId: cmd.stepId, attempt: cmd.attempt, ...(cmd.turn !== undefined ? { turn: cmd.turn } : {}) });
    const turn = cmd.kind === 'agent-turn' ? cmd.turn : undefined;
    const mayBeHeld = ctx.deliveryCount > 1 || ctx.header(H.replay) !== undefined;
    return runOwned(deps.owned, { runId: cmd.runId, stepId: cmd.stepId, attempt: cmd.attempt, kind: cmd.kind, turn }, ctx, mayBeHeld, async (w) => {
      if (w.takeover) log.warn({ from: w.takeover.from }, 'running a step taken over from an executor that is gone');
      const started = performance.now();
      const outcome = await runStep(cmd, {
        providers: deps.providers,
        breakers,
        tracer: deps.tracer,
        log,
        metrics: deps.metrics,
        signal: w.signal,
        logContent: deps.logContent,
        delivery: ctx.delivery,
        gate: leaseFirst(w, deps.gate),
      });
      const latencyMs = Math.round((performance.now() - started) * 1000) / 1000;
      const result = await toResult(deps, cmd, turn, outcome, latencyMs, w.abortedBy());
      if (outcome.kind !== 'interrupted') {
        ctx.span.setAttributes({
          'pw.step.outcome': outcome.kind,
          'pw.step.calls': outcome.calls,
          'pw.step.model': `${outcome.model.provider}/${outcome.model.model}`,
          'pw.breaker.state': outcome.breakers.state,
          'pw.breaker.chain': outcome.breakers.chain,
          // the step's totals over its calls (not gen_ai.usage.*, which a backend would count twice)
          'pw.step.usage.input_tokens': outcome.usage.inputTokens,
          'pw.step.usage.output_tokens': outcome.usage.outputTokens,
          ...(outcome.kind === 'succeeded' ? { 'pw.repair.rung': outcome.rung } : {}),
          // the calls' cost rolled up on the step's span
          ...(outcome.costUsd !== undefined ? { [ATTR_COST_USD]: outcome.costUsd } : {}),
        });
        deps.metrics.stepDuration.observe({ outcome: outcome.kind }, latencyMs / 1000);
      }
      logOutcome(log, outcome, result, latencyMs);
      return result;
    });
  };
}

async function toResult(deps: StepHandlerDeps, cmd: StepCommand, turn: number | undefined, outcome: StepOutcome, latencyMs: number, abortedBy: 'revoked' | 'shutdown' | undefined): Promise<WorkResult> {
  const at = new Date().toISOString();
  const base = { schemaVersion: SCHEMA_VERSION, runId: cmd.runId, stepId: cmd.stepId, attempt: cmd.attempt, task: cmd.kind, ...(turn !== undefined ? { turn } : {}), owner: deps.owned.registry.owner, latencyMs, at } as const;
  if (outcome.kind === 'interrupted') {
    if (abortedBy !== 'revoked') return { kind: 'handback', delayMs: 0, reason: 'executor shutting down', spend: outcome.spend };
    // The run ended: the call was aborted. The final result carries what was spent, for the run's cost.
    const usage = sumUsage(outcome.spend);
    const costUsd = outcome.spend.reduce((n, s) => n + (s.costUsd ?? 0), 0);
    const failed: StepFailed = { ...base, type: 'step.failed', calls: outcome.spend.length, usage, ...cost(costUsd), spend: outcome.spend, error: { code: 'revoked', message: 'the run ended while the step ran; its model call was aborted', retryable: false } };
    return { kind: 'final', entry: failed };
  }
  const spent = { usage: outcome.usage, ...cost(outcome.costUsd), ...(outcome.spend.length > 0 ? { spend: outcome.spend } : {}), calls: outcome.calls };
  if (outcome.kind === 'parked' || outcome.kind === 'deferred') {
    deps.metrics.parked.inc();
    const parked: StepParked = {
      schemaVersion: SCHEMA_VERSION,
      type: 'step.parked',
      runId: cmd.runId,
      stepId: cmd.stepId,
      attempt: cmd.attempt,
      ...(turn !== undefined ? { turn } : {}),
      reason: outcome.reason,
      ...(outcome.usage.totalTokens > 0 ? { usage: outcome.usage } : {}),
      ...cost(outcome.costUsd),
      ...(outcome.spend.length > 0 ? { spend: outcome.spend } : {}),
      owner: deps.owned.registry.owner,
      retryAt: new Date(Date.now() + outcome.delayMs).toISOString(),
      at,
    };
    return { kind: 'park', entry: parked, delayMs: outcome.delayMs };
  }
  if (outcome.kind === 'succeeded') {
    // Claim check: a large output is stored once and the result carries its reference. (An agent
    // turn's action stays inline: the planner reads it as it is.)
    const output = cmd.kind === 'llm' ? await checkIn(outcome.output, { runId: cmd.runId, blobs: deps.blobs, thresholdBytes: deps.claimThresholdBytes ?? DEFAULT_CLAIM_THRESHOLD_BYTES }) : outcome.output;
    const completed: StepCompleted = { ...base, type: 'step.completed', model: outcome.model, output, rung: outcome.rung, ...spent };
    return { kind: 'final', entry: completed };
  }
  const failed: StepFailed = { ...base, type: 'step.failed', model: outcome.model, error: outcome.error, ...spent };
  return { kind: 'final', entry: failed };
}

function logOutcome(log: Logger, outcome: StepOutcome, result: WorkResult, latencyMs: number): void {
  if (outcome.kind === 'succeeded') log.info({ calls: outcome.calls, rung: outcome.rung, model: outcome.model.model, latencyMs, tokens: outcome.usage.totalTokens }, 'step completed');
  else if (outcome.kind === 'failed') log.warn({ error: outcome.error, calls: outcome.calls, breakers: outcome.breakers.chain }, 'step failed');
  else if (result.kind === 'park') log.warn({ delayMs: result.delayMs, reason: result.entry.reason }, 'step parked; handed back to the stream');
  else if (result.kind === 'final') log.info({ spend: outcome.kind === 'interrupted' ? outcome.spend.length : 0 }, 'step revoked: the run ended while it ran');
}

/**
 * Before every model call: is the lease still this delivery's (free unless the connection dropped since
 * it was taken; see Work.stillOwned), then the budget. A lease lost meanwhile parks the call, and the
 * park's append, fenced by the lease, finds the task gone to its new holder: nothing is called here.
 */
function leaseFirst(w: Work, next: CallGate | undefined): CallGate {
  return {
    meters: next?.meters ?? false,
    admit: async (call) => {
      const owned = await w.stillOwned().catch(() => undefined);
      if (owned === false) return { kind: 'deferred', delayMs: 0, reason: 'the task was taken over while this executor was disconnected' };
      if (owned === undefined) return { kind: 'deferred', delayMs: 1_000, reason: 'the lease cannot be confirmed (the bus is unreachable)' };
      return next ? next.admit(call) : { kind: 'admitted' };
    },
  };
}

const cost = (usd: number | undefined) => (usd === undefined ? {} : { costUsd: Math.round(usd * 1e9) / 1e9 });

function sumUsage(spend: readonly { usage: { inputTokens: number; outputTokens: number; totalTokens: number } }[]) {
  return spend.reduce((u, s) => ({ inputTokens: u.inputTokens + s.usage.inputTokens, outputTokens: u.outputTokens + s.usage.outputTokens, totalTokens: u.totalTokens + s.usage.totalTokens }), { inputTokens: 0, outputTokens: 0, totalTokens: 0 });
}

function onBreakerChange(deps: StepHandlerDeps, c: BreakerChange): void {
  deps.metrics.breakerState.set({ provider: c.provider, model: c.model }, BREAKER_STATE_VALUE[c.state]);
  deps.metrics.breakerTransitions.inc({ provider: c.provider, model: c.model, state: c.state });
  const line = { provider: c.provider, model: c.model, endpoint: c.endpoint, breaker: c.state };
  if (c.state === 'open') deps.log.warn({ ...line, resetTimeoutMs: deps.providers.breakerOptions.resetTimeoutMs }, 'breaker opened: model considered down');
  else deps.log.info(line, c.state === 'closed' ? 'breaker closed: model answering again' : 'breaker half-open: next call is a probe');
}
