import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { BreakerState } from './llm/breakers.js';
import { createGenAiMetrics, type GenAiMetrics } from './llm/genai-metrics.js';

export interface ExecutorMetrics {
  stepDuration: Histogram<'outcome'>;
  calls: Counter<'model'>;
  /** Deliveries that found their task finished, revoked or held by another live delivery: no model call. */
  skipped: Counter;
  /** Tasks of dead executors handed back to the stream by this process's rescuer. */
  rescued: Counter;
  /** Retries after a failed call, by the failure's code (timeout, rate_limited, provider_5xx, …). */
  retries: Counter<'model' | 'code'>;
  /** 0 closed, 1 half-open, 2 open: one series per (provider, model) breaker of this process. */
  breakerState: Gauge<'provider' | 'model'>;
  breakerTransitions: Counter<'provider' | 'model' | 'state'>;
  fallbacks: Counter<'from' | 'to' | 'why'>;
  parked: Counter;
  /** Time a call waited for its provider's client-side rate limit. */
  rateLimitWait: Histogram<'provider'>;
  /** Model calls the budget did not count: the service unreachable with a fail-open pipeline. */
  unmetered: Counter<'why'>;
  /** The OpenTelemetry GenAI client metrics (token usage, operation duration). */
  genAi: GenAiMetrics;
}

export const BREAKER_STATE_VALUE: Readonly<Record<BreakerState, number>> = { closed: 0, 'half-open': 1, open: 2 };

export function createMetrics(registry: Registry): ExecutorMetrics {
  const registers = [registry];
  return {
    stepDuration: new Histogram({ name: 'pw_step_duration_seconds', help: 'Time to run one step command, all attempts included', labelNames: ['outcome'], registers, buckets: [0.005, 0.025, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60] }),
    calls: new Counter({ name: 'pw_model_calls_total', help: 'Model calls made, retries included', labelNames: ['model'], registers }),
    skipped: new Counter({ name: 'pw_tasks_skipped_total', help: 'Deliveries that found their task finished, revoked or held elsewhere: nothing was called', registers }),
    rescued: new Counter({ name: 'pw_tasks_rescued_total', help: 'Tasks of dead executors this process handed back to the stream', registers }),
    retries: new Counter({ name: 'pw_model_call_retries_total', help: 'Model calls retried after a transient failure, by failure code', labelNames: ['model', 'code'], registers }),
    breakerState: new Gauge({ name: 'pw_breaker_state', help: 'Circuit breaker state per (provider, model): 0 closed, 1 half-open, 2 open', labelNames: ['provider', 'model'], registers }),
    breakerTransitions: new Counter({ name: 'pw_breaker_transitions_total', help: 'Circuit breaker state changes, by the state entered', labelNames: ['provider', 'model', 'state'], registers }),
    fallbacks: new Counter({ name: 'pw_model_fallbacks_total', help: 'Steps that moved on to their next fallback model, and why', labelNames: ['from', 'to', 'why'], registers }),
    parked: new Counter({ name: 'pw_steps_parked_total', help: 'Step commands handed back for later: no model available, or the budget service unreachable (fail closed)', registers }),
    unmetered: new Counter({ name: 'pw_budget_unmetered_calls_total', help: 'Model calls the budget did not count (fail-open while the service was unreachable)', labelNames: ['why'], registers }),
    genAi: createGenAiMetrics(registry),
    rateLimitWait: new Histogram({ name: 'pw_rate_limit_wait_seconds', help: 'Time a model call waited for client-side rate-limit capacity', labelNames: ['provider'], registers, buckets: [0.01, 0.05, 0.25, 1, 3, 10, 30, 60] }),
  };
}
