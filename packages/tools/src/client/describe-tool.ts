import type { NatsConnection } from '@nats-io/transport-node';
import { describeIssues, fromZodError, TOOL_ERROR_CODES, ToolDescription, toolSubjects, type ToolError } from '@pipewright/contracts';
import { requestFailure } from './errors.js';

export type DescribeOutcome = { ok: true; description: ToolDescription } | { ok: false; error: ToolError };

/** Asks a tool for its description (name, input and output JSON Schema, version) on `pw.tools.<name>.describe`. */
export async function describeTool(nc: NatsConnection, name: string, opts: { timeoutMs: number }): Promise<DescribeOutcome> {
  let raw: unknown;
  try {
    raw = (await nc.request(toolSubjects.describe(name), undefined, { timeout: opts.timeoutMs })).json();
  } catch (err) {
    if (err instanceof SyntaxError) return { ok: false, error: { code: TOOL_ERROR_CODES.invalidReply, message: `tool "${name}" described itself with something that is not JSON`, retryable: false } };
    return { ok: false, error: requestFailure(err, name, opts.timeoutMs) };
  }
  const parsed = ToolDescription.safeParse(raw);
  if (parsed.success) return { ok: true, description: parsed.data };
  return { ok: false, error: { code: TOOL_ERROR_CODES.invalidReply, message: `invalid description from tool "${name}": ${describeIssues(fromZodError(parsed.error))}`, retryable: false } };
}
