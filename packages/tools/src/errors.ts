import { TOOL_ERROR_CODES, type ToolError } from '@pipewright/contracts';
import { errorMessage, RetryableError, TerminalError } from '@pipewright/kit';

/**
 * What a tool handler throws. Retryability lives in the type: a ToolCallError fails the same way every
 * time (`order_not_found`, a refused URL); a ToolRetryableError may succeed later (an upstream
 * timeout). The kit's TerminalError and RetryableError are understood too.
 */

/** A failure that a retry cannot fix. `path` names the argument it is about, where there is one. */
export class ToolCallError extends TerminalError {
  override readonly name: string = 'ToolCallError';
  constructor(
    code: string,
    message: string,
    readonly path?: string,
    options?: ErrorOptions,
  ) {
    super(message, code, options);
  }
}

/** A failure that may pass on retry; `retryAfterMs` when the tool knows how long to wait. */
export class ToolRetryableError extends RetryableError {
  override readonly name: string = 'ToolRetryableError';
  constructor(
    readonly code: string,
    message: string,
    retryAfterMs?: number,
    options?: ErrorOptions,
  ) {
    super(message, retryAfterMs, options);
  }
}

/** Maps what a handler threw to the error of a reply. Unknown errors are retryable, as in the kit. */
export function toToolError(err: unknown): ToolError {
  if (err instanceof ToolCallError)
    return { code: err.code, message: err.message, retryable: false, ...(err.path !== undefined ? { path: err.path } : {}) };
  if (err instanceof TerminalError) return { code: err.code, message: err.message, retryable: false };
  if (err instanceof ToolRetryableError) return withRetryAfter({ code: err.code, message: err.message, retryable: true }, err.retryAfterMs);
  if (err instanceof RetryableError) return withRetryAfter({ code: TOOL_ERROR_CODES.failed, message: err.message, retryable: true }, err.retryAfterMs);
  // A bug or an unexpected failure: retryable, bounded by the caller's retry policy.
  return { code: TOOL_ERROR_CODES.failed, message: `unexpected error: ${errorMessage(err)}`, retryable: true };
}

function withRetryAfter(e: ToolError, retryAfterMs: number | undefined): ToolError {
  return retryAfterMs === undefined ? e : { ...e, retryAfterMs: Math.max(0, Math.round(retryAfterMs)) };
}
