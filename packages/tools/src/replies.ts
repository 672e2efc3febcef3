import { SCHEMA_VERSION, TOOL_ERROR_CODES, type ToolError, type ToolFailure, type ToolReply, type ToolSuccess } from '@pipewright/contracts';

/** Builders of the two kinds of reply, so every reply on the wire has the same shape. */
export function success(result: unknown, cached?: boolean): ToolSuccess {
  return { schemaVersion: SCHEMA_VERSION, ok: true, result, ...(cached === true ? { cached } : {}) };
}

export function failure(error: ToolError): ToolFailure {
  return { schemaVersion: SCHEMA_VERSION, ok: false, error };
}

export function failWith(code: string, message: string, retryable: boolean, extra: Partial<Pick<ToolError, 'path' | 'retryAfterMs'>> = {}): ToolFailure {
  return failure({ code, message, retryable, ...extra });
}

/** A reply that a later call with the same key may be given again: a result, or a failure a retry cannot fix. */
export function isFinal(reply: ToolReply): boolean {
  return reply.ok || !reply.error.retryable;
}

const encoder = new TextEncoder();

/**
 * Encodes a reply; a result too large for one NATS message becomes a `result_too_large` failure, so a
 * caller gets a reason instead of a timeout. JSON.stringify also refuses values that are not JSON.
 */
export function encodeReply(reply: ToolReply, maxPayloadBytes: number): { reply: ToolReply; bytes: Uint8Array } {
  let bytes: Uint8Array;
  try {
    bytes = encoder.encode(JSON.stringify(reply.ok && reply.result === undefined ? { ...reply, result: null } : reply));
  } catch (err) {
    const r = failWith(TOOL_ERROR_CODES.invalidResult, `the result is not JSON: ${String(err)}`, false);
    return { reply: r, bytes: encoder.encode(JSON.stringify(r)) };
  }
  if (bytes.byteLength <= maxPayloadBytes) return { reply, bytes };
  const r = failWith(TOOL_ERROR_CODES.resultTooLarge, `the reply is ${bytes.byteLength} bytes; the server accepts ${maxPayloadBytes}`, false);
  return { reply: r, bytes: encoder.encode(JSON.stringify(r)) };
}
