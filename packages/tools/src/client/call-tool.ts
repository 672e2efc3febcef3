import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import type { Context } from '@opentelemetry/api';
import { describeIssues, fromZodError, MAX_VALUE_DEPTH, parseJsonBounded, TOOL_ERROR_CODES, ToolReply, ToolRequest, toolSubjects, type ToolRequestInput } from '@pipewright/contracts';
import { injectTrace } from '@pipewright/kit';
import { failWith, failure } from '../replies.js';
import { requestFailure } from './errors.js';

export interface CallToolOptions {
  /** How long to wait for the reply. The request's `deadlineAt`, when sooner, wins. */
  timeoutMs: number;
  /** Trace context sent in the `traceparent` header; the active one by default. */
  context?: Context;
}

const encoder = new TextEncoder();

/**
 * Calls a tool: one request on `pw.tools.<name>`, answered by one replica of its queue group. Every
 * outcome is a ToolReply: no responders and no reply in time are retryable failures. An invalid
 * request is the caller's bug and throws.
 */
export async function callTool(nc: NatsConnection, request: ToolRequestInput, opts: CallToolOptions): Promise<ToolReply> {
  const req = ToolRequest.parse(request);
  const untilDeadline = req.deadlineAt !== undefined ? Date.parse(req.deadlineAt) - Date.now() : Infinity;
  if (untilDeadline <= 0) return failWith(TOOL_ERROR_CODES.deadlineExceeded, `the deadline ${req.deadlineAt} has passed`, false);
  const timeout = Math.max(1, Math.floor(Math.min(opts.timeoutMs, untilDeadline)));
  const h = natsHeaders();
  injectTrace(h, opts.context);
  let text: string;
  try {
    text = (await nc.request(toolSubjects.call(req.tool), encoder.encode(JSON.stringify(req)), { timeout, headers: h })).string();
  } catch (err) {
    return failure(requestFailure(err, req.tool, timeout));
  }
  // A reply nested past MAX_VALUE_DEPTH is refused before anything walks it: its output would travel on in messages.
  const raw = parseJsonBounded(text, MAX_VALUE_DEPTH);
  if (!raw.ok) return failWith(TOOL_ERROR_CODES.invalidReply, raw.kind === 'not-json' ? `tool "${req.tool}" answered with something that is not JSON` : `tool "${req.tool}" answered ${raw.reason}`, false);
  const parsed = ToolReply.safeParse(raw.value);
  if (parsed.success) return parsed.data;
  return failWith(TOOL_ERROR_CODES.invalidReply, `tool "${req.tool}" answered with an invalid reply: ${describeIssues(fromZodError(parsed.error))}`, false);
}
