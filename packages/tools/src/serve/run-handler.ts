import { describeIssues, TOOL_ERROR_CODES, type ToolReply } from '@pipewright/contracts';
import { toToolError } from '../errors.js';
import type { ClaimToken } from '../receipts/types.js';
import type { CallDeps } from './deps.js';
import { encodeReply, failWith, failure, isFinal, success } from '../replies.js';
import type { ToolContext } from './spec.js';

/**
 * Runs the handler and settles the receipt: a final reply (a result, or a failure a retry cannot fix)
 * is stored under the idempotency key; a retryable failure gives the claim up so a retry runs again.
 * Never rejects.
 */
export async function runHandler(d: CallDeps, args: unknown, ctx: ToolContext, token: ClaimToken | undefined): Promise<ToolReply> {
  let reply: ToolReply;
  try {
    const result = await d.handler(args, ctx);
    reply = checkResult(d, result);
  } catch (err) {
    reply = failure(toToolError(err));
    if (reply.error.retryable) d.log?.warn({ err, tool: d.name, key: ctx.idempotencyKey }, 'tool call failed; a retry may pass');
    else d.log?.info({ tool: d.name, key: ctx.idempotencyKey, code: reply.error.code }, 'tool call refused');
  }
  // Checked here, before the receipt is written, so a repeat gets the same answer as the first call.
  reply = encodeReply(reply, d.maxPayloadBytes()).reply;
  if (token && d.dedupe) {
    try {
      if (isFinal(reply)) await d.dedupe.complete(token, reply);
      else await d.dedupe.release(token);
    } catch (err) {
      // The work is done and its reply goes out; only a later repeat of this call is affected.
      d.log?.error({ err, tool: d.name, key: ctx.idempotencyKey }, 'could not write the tool receipt');
    }
  }
  return reply;
}

function checkResult(d: CallDeps, result: unknown): ToolReply {
  if (!d.output) return success(result ?? null);
  const checked = d.output.check(result);
  if (checked.ok) return success(result ?? null);
  return failWith(TOOL_ERROR_CODES.invalidResult, `the tool's result breaks its output schema: ${describeIssues(checked.issues)}`, false);
}
