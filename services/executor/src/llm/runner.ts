import { trace, type Tracer } from '@opentelemetry/api';
import type { StepCommand } from '@pipewright/contracts';
import { createLogger, type Logger } from '@pipewright/kit';
import type OpenAI from 'openai';
import { Registry } from 'prom-client';
import { loadConfig } from '../config.js';
import { createMetrics, type ExecutorMetrics } from '../metrics.js';
import { ProviderRegistry } from '../providers.js';
import { BreakerRegistry } from './breakers.js';
import { runStep, type StepOutcome } from './chain.js';
import type { CallGate } from './gate.js';

export interface StepRunnerOptions {
  /** Executor environment (OPENAI_BASE_URL, PW_PROVIDERS, PW_BREAKER_*, PW_RATE_LIMIT_*), parsed like the service's. */
  env: Readonly<Record<string, string | undefined>>;
  log?: Logger;
  tracer?: Tracer;
  registry?: Registry;
}

/**
 * The executor's model-call path without the bus: what a step command goes through between the
 * consumer and the result (policy, breakers, rate limits, validation, spans, logs). For benchmarks and
 * tests that measure or drive that path in-process.
 */
export interface StepRunner {
  run(cmd: StepCommand, opts?: { signal?: AbortSignal; gate?: CallGate }): Promise<StepOutcome>;
  /** The `openai` client of a configured provider (retries off), e.g. for a bare call to compare with. */
  client(provider?: string): OpenAI;
  readonly providers: ProviderRegistry;
  readonly breakers: BreakerRegistry;
  readonly metrics: ExecutorMetrics;
  readonly registry: Registry;
  /** Stops the breakers' timers. */
  close(): void;
}

export function createStepRunner(opts: StepRunnerOptions): StepRunner {
  const providers = new ProviderRegistry(loadConfig(opts.env));
  const breakers = new BreakerRegistry(providers.breakerOptions);
  const registry = opts.registry ?? new Registry();
  const metrics = createMetrics(registry);
  const log = opts.log ?? createLogger('executor', 'silent');
  const tracer = opts.tracer ?? trace.getTracer('pipewright.executor');
  const never = new AbortController().signal;
  return {
    providers,
    breakers,
    metrics,
    registry,
    client: (provider = 'default') => providers.get(provider).client,
    run: (cmd, o = {}) => runStep(cmd, { providers, breakers, tracer, log, metrics, logContent: false, signal: o.signal ?? never, ...(o.gate ? { gate: o.gate } : {}) }),
    close: () => breakers.shutdown(),
  };
}
