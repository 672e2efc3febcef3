import { setTimeout as sleep } from 'node:timers/promises';
import { JetStreamApiError } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { redeliveryDelayMs } from '../bus/outcome.js';
import { errorMessage } from '../errors.js';
import { isTransient } from './transient.js';

/** Cap of the first delay between two attempts; the cap doubles per retry up to STARTUP_RETRY_MAX_MS. */
export const STARTUP_RETRY_BASE_MS = 250;
/** Largest delay between two attempts of a start-up step: how long a recovered broker may wait for us. */
export const STARTUP_RETRY_MAX_MS = 5_000;

/** A start-up step failed in a way that retrying cannot mend: the service stops with this message. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
  constructor(
    readonly step: string,
    cause: unknown,
  ) {
    const code = cause instanceof JetStreamApiError ? ` (JetStream API error ${cause.code})` : '';
    super(`start-up failed at "${step}": ${errorMessage(cause)}${code}; not a transient fault, so not retried`, { cause });
  }
}

/** Full jitter: uniform in [0, min(STARTUP_RETRY_MAX_MS, STARTUP_RETRY_BASE_MS × 2^(retry-1))]. */
export function startupDelayMs(retry: number): number {
  return redeliveryDelayMs(retry, STARTUP_RETRY_BASE_MS, STARTUP_RETRY_MAX_MS);
}

export interface StartupRetryOptions {
  log: Logger;
  /** Undoes what a failed attempt left behind, before the next attempt. */
  cleanup?: () => Promise<void>;
  /** Delay before retry number `retry` (1 = the first). @default startupDelayMs */
  delayMs?: (retry: number) => number;
}

/**
 * Runs a start-up step until it succeeds. A transient error (see `isTransient`) is logged and retried
 * after a full-jitter delay; any other error is thrown as a StartupError naming the step.
 *
 * There is no deadline here on purpose: a service that cannot start yet says so on /readyz (503) and
 * in its log, and its orchestrator decides when to give up (Kubernetes: the startup probe). Exiting
 * instead would turn a broker's slow restart into a crash loop of every service.
 */
export async function retryStartup<T>(step: string, fn: () => Promise<T>, o: StartupRetryOptions): Promise<T> {
  const delayOf = o.delayMs ?? startupDelayMs;
  for (let retry = 1; ; retry++) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransient(err)) throw new StartupError(step, err);
      const delayMs = delayOf(retry);
      o.log.warn({ err, step, retry, delayMs }, `start-up: ${step} failed with a transient error; retrying`);
      await o.cleanup?.();
      await sleep(delayMs);
    }
  }
}
