import type { RunDetail, ValidationIssue } from '@pipewright/contracts';

/** An error answer of the console API (docs/api.md, "Errors"): its status, code, and the fields at fault. */
export class PipewrightApiError extends Error {
  override readonly name = 'PipewrightApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: readonly ValidationIssue[] = [],
    readonly differences: readonly string[] = [],
  ) {
    super(`${status} ${code}: ${message}${issues.length > 0 ? `\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}` : ''}`);
  }

  /** Worth retrying as it was (with the same idempotency key): the bus did not take the request. */
  get retryable(): boolean {
    return this.status === 503;
  }
}

/** A run that ended other than `succeeded`: its status, the planner's reason, and the run as the console shows it. */
export class RunFailedError extends Error {
  override readonly name = 'RunFailedError';
  constructor(
    readonly runId: string,
    readonly status: string,
    readonly reason: string | undefined,
    readonly run: RunDetail,
  ) {
    super(`run ${runId} ended ${status}${reason ? `: ${reason}` : ''}`);
  }
}
