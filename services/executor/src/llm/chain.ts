import { trace } from '@opentelemetry/api';
import { ZERO_USAGE, type ErrorInfo, type ModelTarget, type RepairRung, type Spend, type StepCommand, type Usage } from '@pipewright/contracts';
import { TerminalError } from '@pipewright/kit';
import type { ProviderRegistry } from '../providers.js';
import { runModel, type AttemptDeps, type DispatchState, type ModelOutcome, type Route } from './attempts.js';
import type { BreakerState } from './breakers.js';
import { DEFAULT_MAX_OUTPUT_TOKENS } from '../budget/reservation.js';
import { clampToDeadline, parkDelayMs } from './park.js';

/** The breakers of a step's chain when its outcome was reached (for the step's span). */
export interface BreakerReport {
  /** The breaker of the model that produced the outcome (the last one tried). */
  state: BreakerState;
  /** `provider/model=state` for every model of the chain that was reached. */
  chain: string[];
}

interface Tally {
  usage: Usage;
  /** What the calls cost (USD), when the budget priced them. */
  costUsd: number | undefined;
  /** Each metered call's reservation and usage. */
  spend: Spend[];
  calls: number;
  /** The model that produced the outcome, or the last one tried. */
  model: ModelTarget;
  breakers: BreakerReport;
}

export type StepOutcome =
  | ({ kind: 'succeeded'; output: unknown; rung: RepairRung } & Tally)
  | ({ kind: 'failed'; error: ErrorInfo } & Tally)
  /** Every model is down (or out of retries on transient errors): hand the command back after `delayMs`. */
  | ({ kind: 'parked'; reason: string; delayMs: number } & Tally)
  /** A gate said "not now" (e.g. the budget service is unreachable and the run fails closed). */
  | ({ kind: 'deferred'; reason: string; delayMs: number } & Tally)
  /** Shutdown (or a revocation) interrupted the step: hand the command back, reporting what was spent. */
  | { kind: 'interrupted'; spend: Spend[] };

export interface StepDeps extends AttemptDeps {
  providers: ProviderRegistry;
}

/**
 * Runs one step command to an outcome over its model chain — the step's model, then each fallback, each
 * on its own endpoint with its own breaker. The repair ladder: direct → tolerant-parse → re-ask (on one
 * model) → fallback-model → fail with the validation error. A model is left for the next when its
 * breaker is open, its retries are spent on transient errors, or its output cannot be repaired. An
 * outage never fails the step: when no model is left and any of them was down, the step is parked.
 */
export async function runStep(cmd: StepCommand, deps: StepDeps): Promise<StepOutcome> {
  const now = Date.now();
  const d: DispatchState = {
    cmd,
    startedAt: now,
    hardDeadline: cmd.deadlineAt ? Date.parse(cmd.deadlineAt) : undefined,
    calls: 0,
    admissions: 0,
    usage: { ...ZERO_USAGE },
    costUsd: undefined,
    spend: [],
    // A metered call always carries an output cap, so it cannot spend more than was reserved.
    maxOutputTokens: cmd.call.maxOutputTokens ?? (deps.gate?.meters && cmd.budget ? DEFAULT_MAX_OUTPUT_TOKENS : undefined),
  };
  const chain = [cmd.call.model, ...cmd.call.fallbacks];
  const reached: Route[] = [];
  const tally = (): Tally => ({ usage: d.usage, costUsd: d.costUsd, spend: d.spend, calls: d.calls, model: reached.at(-1)?.model ?? cmd.call.model, breakers: report(reached) });
  const pastDeadline = () => d.hardDeadline !== undefined && Date.now() >= d.hardDeadline;
  let invalid: string | undefined;
  const down: { why: string; retryInMs: number; resetMs: number }[] = [];

  for (const [index, model] of chain.entries()) {
    if (pastDeadline()) break;
    let provider;
    try {
      provider = deps.providers.get(model.provider);
    } catch (err) {
      if (!(err instanceof TerminalError)) throw err;
      return { kind: 'failed', error: { code: err.code, message: err.message, retryable: false }, ...tally() };
    }
    const route: Route = { model, provider, breaker: deps.breakers.get(model, provider.baseURL), index };
    reached.push(route);
    const out: ModelOutcome = await runModel(d, route, deps);
    switch (out.kind) {
      case 'ok':
        return { kind: 'succeeded', output: out.output, rung: index === 0 ? out.rung : 'fallback-model', ...tally() };
      case 'terminal':
        return { kind: 'failed', error: { code: out.failure.code, message: out.failure.message, retryable: false }, ...tally() };
      case 'refused':
        return { kind: 'failed', error: out.error, ...tally() };
      case 'deferred':
        return { kind: 'deferred', reason: out.reason, delayMs: out.delayMs, ...tally() };
      case 'interrupted':
        return { kind: 'interrupted', spend: d.spend };
      case 'invalid':
        invalid = out.reason;
        break;
      case 'unavailable':
        down.push({ why: out.reason, retryInMs: out.retryInMs, resetMs: route.breaker.resetTimeoutMs });
        break;
      case 'exhausted':
        down.push({ why: `${model.provider}/${model.model}: ${out.failure.code} after its retries (${out.failure.message})`, retryInMs: out.retryInMs, resetMs: route.breaker.resetTimeoutMs });
        break;
    }
    const next = chain[index + 1];
    if (next) deps.log.info({ stepId: cmd.stepId, from: model.model, to: next.model, why: out.kind }, 'falling back to the next model');
    if (next) deps.metrics.fallbacks.inc({ from: model.model, to: next.model, why: out.kind });
    if (next) trace.getActiveSpan()?.addEvent('fallback', { 'pw.fallback.from': `${model.provider}/${model.model}`, 'pw.fallback.to': `${next.provider}/${next.model}`, 'pw.fallback.why': out.kind, 'pw.breaker.state': route.breaker.state() });
  }

  if (pastDeadline())
    return { kind: 'failed', error: { code: 'deadline_exceeded', message: `the run's deadline ${cmd.deadlineAt ?? ''} passed before the step could finish`, retryable: false }, ...tally() };
  if (down.length > 0) {
    const soonest = down.reduce((a, b) => (b.retryInMs < a.retryInMs ? b : a));
    const delayMs = clampToDeadline(parkDelayMs(soonest.retryInMs, soonest.resetMs, deps.random), Date.now(), d.hardDeadline);
    return { kind: 'parked', reason: `no model available: ${down.map((x) => x.why).join('; ')}`, delayMs, ...tally() };
  }
  return { kind: 'failed', error: { code: 'output_invalid', message: invalid ?? 'no output', retryable: false }, ...tally() };
}

function report(reached: readonly Route[]): BreakerReport {
  return {
    state: reached.at(-1)?.breaker.state() ?? 'closed',
    chain: reached.map((r) => `${r.model.provider}/${r.model.model}=${r.breaker.state()}`),
  };
}
