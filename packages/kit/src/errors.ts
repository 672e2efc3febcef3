/**
 * Retryability lives in the error type and is mapped to ack / nak(delay) / term in exactly one place
 * (bus/outcome.ts). Expected outcomes are unions; these are for failures.
 */

/** A failure that may succeed if tried again later (timeouts, connection loss, 429, 5xx). */
export class RetryableError extends Error {
  override readonly name: string = 'RetryableError';
  constructor(
    message: string,
    /** How long to wait before trying again, when the cause says so (Retry-After). */
    readonly retryAfterMs?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A failure that will fail the same way every time (bad input, 4xx, schema violation). */
export class TerminalError extends Error {
  override readonly name: string = 'TerminalError';
  constructor(
    message: string,
    readonly code = 'terminal',
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A bad or missing environment variable: start-up stops with its name and what was expected. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
