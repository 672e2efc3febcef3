import type { Msg } from '@nats-io/transport-node';
import { context, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { describeIssues, fromZodError, parseJsonBounded, TOOL_ERROR_CODES, ToolRequest, type ToolReply } from '@pipewright/contracts';
import { ATTR_GEN_AI_OPERATION_NAME, ATTR_GEN_AI_TOOL_NAME, ATTR_MESSAGING_DESTINATION_NAME, ATTR_MESSAGING_SYSTEM, errorMessage, extractTrace, GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL, MESSAGING_SYSTEM_VALUE_NATS } from '@pipewright/kit';
import { LEASE_MARGIN_MS, type CallDeps } from './deps.js';
import { encodeReply, failWith, success } from '../replies.js';
import { runHandler } from './run-handler.js';
import type { ToolContext } from './spec.js';

/**
 * One call: decode, check, claim the idempotency key, run, store the receipt, reply. Every path
 * replies exactly once (a bad request is an error reply, never a crash); the reply to a call whose
 * handler outlives its timeout is sent at the timeout, and the receipt is written when it ends.
 */
export async function handleCall(msg: Msg, d: CallDeps): Promise<void> {
  const parent = extractTrace(msg.headers);
  const span = d.tracer.startSpan(
    `execute_tool ${d.name}`,
    {
      kind: SpanKind.INTERNAL,
      attributes: { [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL, [ATTR_GEN_AI_TOOL_NAME]: d.name, [ATTR_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_VALUE_NATS, [ATTR_MESSAGING_DESTINATION_NAME]: msg.subject },
    },
    parent,
  );
  try {
    await context.with(trace.setSpan(parent, span), () => serve(msg, d, span));
  } catch (err) {
    // Only a bug gets here (serve answers every expected outcome): still answer, so the caller is not left waiting.
    d.log?.error({ err, tool: d.name }, 'tool call handling failed');
    send(msg, failWith(TOOL_ERROR_CODES.failed, `tool error: ${errorMessage(err)}`, true), d, span);
  } finally {
    span.end();
  }
}

async function serve(msg: Msg, d: CallDeps, span: Span): Promise<void> {
  const req = decode(msg, d.name);
  if (!req.ok) {
    // Recorded: the caller gets the reason, the span its error (send), and the tool's log a line.
    if (!req.reply.ok) d.log?.warn({ tool: d.name, bytes: msg.data.length, error: req.reply.error }, 'tool request refused: invalid');
    return send(msg, req.reply, d, span);
  }
  const request = req.request;
  span.setAttributes({ 'gen_ai.tool.call.id': request.callId, 'pw.run.id': request.runId, 'pw.step.id': request.stepId });

  const deadlineAt = request.deadlineAt !== undefined ? new Date(request.deadlineAt) : undefined;
  const untilDeadline = deadlineAt !== undefined ? deadlineAt.getTime() - Date.now() : Infinity;
  if (untilDeadline <= 0) return send(msg, failWith(TOOL_ERROR_CODES.deadlineExceeded, `the deadline ${request.deadlineAt} has passed`, false), d, span);

  const args = d.input.check(request.arguments);
  if (!args.ok) {
    const first = args.issues[0];
    const r = failWith(TOOL_ERROR_CODES.invalidArguments, `invalid arguments: ${describeIssues(args.issues)}`, false, first ? { path: first.path } : {});
    return send(msg, r, d, span);
  }

  // The call's clock starts now: waiting for a slot counts against the timeout and the deadline.
  const signal = AbortSignal.any([d.stopSignal, AbortSignal.timeout(Math.max(1, Math.min(d.timeoutMs, untilDeadline)))]);
  if (!(await d.limiter.acquire(signal))) {
    const r = signal.aborted
      ? failWith(TOOL_ERROR_CODES.timeout, `no free slot within the call's time (${d.limiter.concurrency} running)`, true)
      : failWith(TOOL_ERROR_CODES.busy, `at the concurrency limit (${d.limiter.concurrency} running, ${d.limiter.maxWaiting} waiting)`, true, { retryAfterMs: 100 });
    return send(msg, r, d, span);
  }
  try {
    let claim;
    try {
      claim = d.dedupe ? await d.dedupe.claim(d.name, request.idempotencyKey, d.timeoutMs + LEASE_MARGIN_MS) : undefined;
    } catch (err) {
      d.log?.warn({ err, tool: d.name }, 'receipt store unreachable; refusing to run the call');
      return send(msg, failWith(TOOL_ERROR_CODES.receiptsUnavailable, `receipts unavailable: ${errorMessage(err)}`, true), d, span);
    }
    if (claim?.kind === 'done') {
      span.setAttribute('pw.tool.cached', true);
      return send(msg, claim.reply.ok ? success(claim.reply.result, true) : claim.reply, d, span);
    }
    if (claim?.kind === 'busy')
      return send(msg, failWith(TOOL_ERROR_CODES.inProgress, 'another call with this idempotency key is running', true, { retryAfterMs: claim.retryAfterMs }), d, span);

    const ctx: ToolContext = { request, idempotencyKey: request.idempotencyKey, deadlineAt, signal, span, log: d.log };
    const work = runHandler(d, args.value, ctx, claim?.token);
    const timedOut = new Promise<ToolReply>((resolve) => {
      const onAbort = () => resolve(failWith(TOOL_ERROR_CODES.timeout, `no result within ${Math.min(d.timeoutMs, untilDeadline)} ms`, true));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    send(msg, await Promise.race([work, timedOut]), d, span);
    // The slot stays taken until the handler really ends, so `concurrency` bounds running work.
    await work;
  } finally {
    d.limiter.release();
  }
}

type Decoded = { ok: true; request: ToolRequest } | { ok: false; reply: ToolReply };

function decode(msg: Msg, name: string): Decoded {
  // Depth is checked on the text, before anything recursive walks the value (see MAX_JSON_DEPTH).
  const raw = parseJsonBounded(msg.string());
  if (!raw.ok) return { ok: false, reply: failWith(TOOL_ERROR_CODES.invalidRequest, raw.reason, false) };
  const parsed = ToolRequest.safeParse(raw.value);
  if (!parsed.success) {
    const issues = fromZodError(parsed.error);
    return { ok: false, reply: failWith(TOOL_ERROR_CODES.invalidRequest, `invalid request: ${describeIssues(issues)}`, false, issues[0] ? { path: issues[0].path } : {}) };
  }
  if (parsed.data.tool !== name)
    return { ok: false, reply: failWith(TOOL_ERROR_CODES.invalidRequest, `this is tool "${name}", the request names "${parsed.data.tool}"`, false, { path: 'tool' }) };
  return { ok: true, request: parsed.data };
}

function send(msg: Msg, reply: ToolReply, d: CallDeps, span: Span): void {
  const encoded = encodeReply(reply, d.maxPayloadBytes());
  if (!encoded.reply.ok) {
    span.setAttribute('error.type', encoded.reply.error.code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: encoded.reply.error.message.slice(0, 200) });
  }
  // A plain publish (no reply subject) has nobody to answer; the work was still done once.
  if (!msg.reply) return;
  msg.respond(encoded.bytes);
}
