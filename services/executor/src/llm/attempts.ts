import { trace, type Tracer } from '@opentelemetry/api';
import { addUsage, nanoToUsd, usageCost, ZERO_USAGE, type ChatMessage, type ErrorInfo, type ModelTarget, type Spend, type StepCommand, type Usage } from '@pipewright/contracts';
import { ATTR_GEN_AI_REQUEST_MODEL, type Logger } from '@pipewright/kit';
import type { ExecutorMetrics } from '../metrics.js';
import type { Provider } from '../providers.js';
import { backoffCapMs, backoffDelayMs, canRetry } from './backoff.js';
import { observeModelCall } from './genai-metrics.js';
import type { BreakerRegistry, ModelBreaker } from './breakers.js';
import { callModel } from './call.js';
import type { CallFailure } from './errors.js';
import type { CallGate, GateDecision } from './gate.js';
import { toAgentAction } from '../agent/action.js';
import { parseOutput } from './output.js';
import { estimateTokens } from './rate-limit.js';
import { abortableSleep } from './sleep.js';
import { tracedCall } from './span.js';

export interface AttemptDeps {
  breakers: BreakerRegistry;
  tracer: Tracer;
  log: Logger;
  metrics: ExecutorMetrics;
  /** Aborted on shutdown: the step is handed back instead of finished. */
  signal: AbortSignal;
  logContent: boolean;
  /** Checked before every call (the budget); none = every call may go. */
  gate?: CallGate;
  /** The stream message and delivery being run (`s<seq>d<n>`); none when run off the bus. */
  delivery?: string;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
}

/** One dispatch of a step, shared by every model of its chain. */
export interface DispatchState {
  cmd: StepCommand;
  startedAt: number;
  /** The run's deadline (epoch ms), if it has one. */
  hardDeadline: number | undefined;
  calls: number;
  /** Calls the gate was asked about (a call the breaker then refused included): names each reservation. */
  admissions: number;
  usage: Usage;
  /** What the calls cost in USD, as the gate priced them; undefined while nothing was priced. */
  costUsd: number | undefined;
  /** Each metered call's reservation and what it used: reported with the result for the budget to book. */
  spend: Spend[];
  /** The output cap sent with every call (the step's, or the budget's default when the budget is enforced). */
  maxOutputTokens: number | undefined;
}

/** What one model of the chain came to. */
export type ModelOutcome =
  | { kind: 'ok'; output: unknown; rung: 'direct' | 'tolerant-parse' | 're-ask' }
  /** The output could not be repaired: tolerant parse and the one re-ask failed (or no attempt was left). */
  | { kind: 'invalid'; reason: string }
  /** The breaker refused the call: the model is considered down. */
  | { kind: 'unavailable'; reason: string; retryInMs: number }
  /** Retryable failures until the attempts or the retry deadline ran out. */
  | { kind: 'exhausted'; failure: CallFailure; retryInMs: number }
  | { kind: 'terminal'; failure: CallFailure }
  | { kind: 'refused'; error: ErrorInfo }
  | { kind: 'deferred'; delayMs: number; reason: string }
  | { kind: 'interrupted' };

export interface Route {
  model: ModelTarget;
  provider: Provider;
  breaker: ModelBreaker;
  /** 0 = the step's own model. */
  index: number;
}

/**
 * Calls one model until it gives an output valid against the step's schema: retries with full jitter
 * within the retry policy (every call counts against `maxAttempts`, the re-ask included), the breaker
 * in front of every call, the provider's rate limit before it, and the repair ladder after it
 * (tolerant parse, then one re-ask with the validation error).
 */
export async function runModel(d: DispatchState, r: Route, deps: AttemptDeps): Promise<ModelOutcome> {
  const { cmd } = d;
  const policy = cmd.retry;
  const sleep = deps.sleep ?? abortableSleep;
  const retryDeadline = Math.min(d.startedAt + policy.deadlineMs, d.hardDeadline ?? Number.POSITIVE_INFINITY);
  let attempts = 0;
  let reask: ChatMessage[] | undefined;
  // false when shutdown cut the wait short
  const pause = (ms: number): Promise<boolean> => sleep(ms, deps.signal).then(() => true, () => false);

  for (;;) {
    if (deps.signal.aborted) return { kind: 'interrupted' };
    if (r.breaker.refusing()) return unavailable(r);
    const messages = reask ? [...cmd.call.messages, ...reask] : cmd.call.messages;
    const estimate = estimateTokens(messages, d.maxOutputTokens);
    const admission = r.provider.limiter.reserve(estimate, retryDeadline - Date.now());
    if (admission.kind === 'too-late') {
      const failure: CallFailure = { code: 'rate_limited_locally', message: `provider "${r.provider.name}" has no capacity for ${admission.waitMs} ms (client-side rate limit)`, retryable: true, providerFault: false };
      return { kind: 'exhausted', failure, retryInMs: admission.waitMs };
    }
    if (admission.waitMs > 0) {
      deps.metrics.rateLimitWait.observe({ provider: r.provider.name }, admission.waitMs / 1000);
      if (!(await pause(admission.waitMs))) return { kind: 'interrupted' };
    }
    d.admissions += 1;
    const gate = await deps.gate?.admit({ cmd, model: r.model, call: d.admissions, delivery: deps.delivery, messages, maxOutputTokens: d.maxOutputTokens });
    if (gate && gate.kind !== 'admitted') {
      r.provider.limiter.release(estimate);
      return gate.kind === 'refused' ? { kind: 'refused', error: gate.error } : gate;
    }

    const sentAt = performance.now();
    attempts += 1;
    d.calls += 1;
    const call = d.calls;
    const state = r.breaker.state();
    const out = await r.breaker.run(() =>
      tracedCall(deps, cmd, { model: r.model, baseURL: r.provider.baseURL, call, fallbackIndex: r.index, breaker: state, ...(gate?.kind === 'admitted' && gate.reservation ? { reservation: gate.reservation } : {}) }, () =>
        callModel({
          client: r.provider.client,
          model: r.model,
          call: { ...cmd.call, messages, ...(d.maxOutputTokens !== undefined ? { maxOutputTokens: d.maxOutputTokens } : {}) },
          timeoutMs: cmd.timeoutMs,
          idempotencyKey: idempotencyKeyOf(cmd),
          callAttempt: call,
          signal: deps.signal,
          ...(cmd.kind === 'agent-turn' && cmd.tools ? { tools: cmd.tools } : {}),
        }),
      ),
    );
    if ('rejected' in out) {
      // The breaker opened between the check and the call: no request was sent.
      attempts -= 1;
      d.calls -= 1;
      r.provider.limiter.release(estimate);
      record(d, gate, r.model, undefined);
      return unavailable(r);
    }
    deps.metrics.calls.inc({ model: r.model.model });
    observeModelCall(deps.metrics.genAi, r.model, (performance.now() - sentAt) / 1000, out.ok ? { usage: out.usage } : { errorType: out.failure.code });
    record(d, gate, r.model, out.ok ? out.usage : undefined);
    if (out.ok) {
      r.provider.limiter.settle(estimate, out.usage.totalTokens);
      d.usage = addUsage(d.usage, out.usage);
      const parsed = cmd.kind === 'agent-turn' ? toAgentAction(out.text, out.toolCalls, cmd.call.responseSchema) : parseOutput(out.text, cmd.call.responseSchema);
      if (parsed.ok) return { kind: 'ok', output: parsed.value, rung: reask ? 're-ask' : parsed.rung };
      if (reask || attempts >= policy.maxAttempts || Date.now() >= retryDeadline) return { kind: 'invalid', reason: parsed.reason };
      reask = [
        { role: 'assistant', content: out.text.slice(0, 20_000) },
        { role: 'user', content: `Your answer was not valid: ${parsed.reason}. Reply again with only JSON that satisfies the schema.` },
      ];
      deps.log.info({ stepId: cmd.stepId, model: r.model.model, reason: parsed.reason }, 'output invalid; re-asking once with the validation error');
      trace.getActiveSpan()?.addEvent('repair re-ask', { [ATTR_REPAIR_REASON]: parsed.reason.slice(0, 500), [ATTR_GEN_AI_REQUEST_MODEL]: r.model.model });
      continue;
    }
    if (deps.signal.aborted) return { kind: 'interrupted' };
    const f = out.failure;
    if (!f.retryable) return { kind: 'terminal', failure: f };
    const delayMs = backoffDelayMs(policy, attempts, f.retryAfterMs, deps.random);
    if (!canRetry(policy, attempts, d.startedAt, delayMs, Date.now(), d.hardDeadline))
      return { kind: 'exhausted', failure: f, retryInMs: f.retryAfterMs ?? r.breaker.resetTimeoutMs };
    deps.metrics.retries.inc({ model: r.model.model, code: f.code });
    deps.log.info({ stepId: cmd.stepId, model: r.model.model, call, code: f.code, delayMs, capMs: backoffCapMs(policy, attempts), retryAfterMs: f.retryAfterMs }, 'model call failed; retrying');
    if (!(await pause(delayMs))) return { kind: 'interrupted' };
  }
}

/** Why the output was re-asked for: the validation error. */
const ATTR_REPAIR_REASON = 'pw.repair.reason';

/**
 * `<runId>:<stepId>`, `:a<attempt>` from the step's second dispatch on, and `:t<turn>` for an agent
 * turn: lets a provider (and the simulator) recognise a repeated call. Retries and redeliveries of one
 * dispatch share the key; a new dispatch (a resumed run, more budget granted) is a new call and must not
 * be answered from a provider's cache of the attempt that failed.
 */
export function idempotencyKeyOf(cmd: StepCommand): string {
  const step = cmd.attempt > 1 ? `${cmd.runId}:${cmd.stepId}:a${cmd.attempt}` : `${cmd.runId}:${cmd.stepId}`;
  return cmd.kind === 'agent-turn' && cmd.turn !== undefined ? `${step}:t${cmd.turn}` : step;
}

/**
 * Records a metered call's spending: its usage (zero when no answer came, so the budget releases the
 * reservation) priced at the reservation's price, the same arithmetic the budget service charges with.
 */
function record(d: DispatchState, gate: GateDecision | undefined, model: ModelTarget, usage: Usage | undefined): void {
  if (gate?.kind !== 'admitted' || !gate.reservation) return;
  const used = usage ?? { ...ZERO_USAGE };
  const costUsd = nanoToUsd(usageCost(gate.reservation.price, used).nano);
  d.spend.push({ reservationId: gate.reservation.id, model, usage: used, costUsd });
  if (gate.reservation.price) d.costUsd = (d.costUsd ?? 0) + costUsd;
}

function unavailable(r: Route): ModelOutcome {
  return { kind: 'unavailable', reason: `breaker of ${r.model.provider}/${r.model.model} is ${r.breaker.state()}`, retryInMs: r.breaker.reopensInMs() };
}
