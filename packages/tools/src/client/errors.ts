import { errors } from '@nats-io/transport-node';
import { TOOL_ERROR_CODES, type ToolError } from '@pipewright/contracts';
import { errorMessage } from '@pipewright/kit';

/** Causes are followed this deep at most (a RequestError wraps the NoRespondersError or TimeoutError). */
const MAX_CAUSE_DEPTH = 5;

/**
 * Maps a failed NATS request to a tool error. Nobody serving the tool and no reply in time are both
 * retryable: a replica may start, and with an idempotency key a retry repeats no effects.
 */
export function requestFailure(err: unknown, tool: string, timeoutMs: number): ToolError {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < MAX_CAUSE_DEPTH; e = e.cause, depth++) {
    if (e instanceof errors.NoRespondersError || (e instanceof errors.RequestError && e.isNoResponders()))
      return { code: TOOL_ERROR_CODES.unavailable, message: `no process serves tool "${tool}"`, retryable: true };
    if (e instanceof errors.TimeoutError) return { code: TOOL_ERROR_CODES.timeout, message: `tool "${tool}" did not answer within ${timeoutMs} ms`, retryable: true };
  }
  // A closed or draining connection, a permissions problem: nothing the tool did, and maybe temporary.
  return { code: TOOL_ERROR_CODES.unavailable, message: `request to tool "${tool}" failed: ${errorMessage(err)}`, retryable: true };
}
