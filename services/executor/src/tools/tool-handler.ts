import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { headers as H, msgIds, SCHEMA_VERSION, subjects, TOOL_ERROR_CODES, ZERO_USAGE, type StepResult, type ToolCommand, type ToolReply } from '@pipewright/contracts';
import { ACK, publishJson, type Logger, type MessageContext, type Outcome, type ToolCallStore } from '@pipewright/kit';
import { callTool } from '@pipewright/tools';
import { backoffDelayMs, canRetry } from '../llm/backoff.js';
import { abortableSleep } from '../llm/sleep.js';

export interface ToolHandlerDeps {
  nc: NatsConnection;
  js: JetStreamClient;
  log: Logger;
  /** Intents and receipts of tool calls (the configured store). */
  toolCalls: ToolCallStore;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** The answer to one tool call is published once per call, whatever the command's attempt. */
const resultMsgId = (r: StepResult, turn: number) => msgIds.event(r.runId, r.type, `${r.stepId}:t${turn}:tool`);

/**
 * Performs a tool call the planner validated. Effects once, in two layers:
 *
 * - the executor writes an **intent** before it sends the call and a **receipt** (the answer it
 *   publishes) before it publishes it. A command that may have been handled before (a redelivery, a
 *   replay) whose receipt exists republishes the stored answer and never calls the tool again;
 * - one with an intent and no receipt died mid-call, so whether the tool acted is unknown: it is
 *   reconciled by calling again with the **same idempotency key**, which a tool with receipts
 *   (`@pipewright/tools`) answers from its own receipt instead of acting twice.
 *
 * Retryable failures (no responders, timeouts, busy) follow the step's retry policy; the final answer —
 * a result or an error — goes back to the planner, which feeds it to the agent.
 */
export function createToolHandler(deps: ToolHandlerDeps): (cmd: ToolCommand, ctx: MessageContext) => Promise<Outcome> {
  const sleep = deps.sleep ?? abortableSleep;
  return async (cmd, ctx) => {
    ctx.span.setAttributes({ 'pw.run.id': cmd.runId, 'pw.step.id': cmd.stepId, 'gen_ai.tool.name': cmd.tool, 'gen_ai.tool.call.id': cmd.callId });
    const log = ctx.log.child({ runId: cmd.runId, stepId: cmd.stepId, tool: cmd.tool, callId: cmd.callId });
    const ref = { runId: cmd.runId, stepId: cmd.stepId, callId: cmd.callId };
    // As for steps: only a command that may have been handled before needs the read (JetStream drops a
    // repeated msg id inside the dedupe window; outside it, only a replay, which carries the header).
    const mayBeDone = ctx.deliveryCount > 1 || ctx.header(H.replay) !== undefined;
    const record = mayBeDone ? await deps.toolCalls.get(ref) : {};
    if (record.receipt) {
      await publishJson(deps.js, subjects.runEvent(cmd.runId, record.receipt.result.type), record.receipt.result, { msgId: resultMsgId(record.receipt.result, cmd.turn) });
      ctx.span.setAttribute('pw.tool.receipt', 'replayed');
      log.info('tool call already answered: republished its receipt, the tool was not called');
      return ACK;
    }
    if (record.intent) {
      ctx.span.setAttribute('pw.tool.receipt', 'reconciled');
      log.warn({ intentAttempt: record.intent.attempt, delivery: ctx.deliveryCount }, 'tool call outcome unknown (intent, no receipt): calling again with the same idempotency key');
    } else {
      await deps.toolCalls.intend({ ...ref, tool: cmd.tool, idempotencyKey: cmd.idempotencyKey, turn: cmd.turn, attempt: cmd.attempt, at: new Date().toISOString() });
    }

    const answer = await callWithRetries(deps.nc, cmd, ctx, sleep, log);
    if (answer === 'interrupted') return { kind: 'retry', delayMs: 0, reason: 'executor shutting down' };
    if ('pendingMs' in answer) return { kind: 'retry', delayMs: answer.pendingMs, reason: 'an earlier call with this idempotency key is still running' };
    // First write wins: if another replica answered the same call meanwhile, publish its answer.
    const written = await deps.toolCalls.complete({ ...ref, idempotencyKey: cmd.idempotencyKey, result: answer, at: answer.at });
    const winner = written === 'created' ? answer : ((await deps.toolCalls.get(ref)).receipt?.result ?? answer);
    await publishJson(deps.js, subjects.runEvent(cmd.runId, winner.type), winner, { msgId: resultMsgId(winner, cmd.turn) });
    if (winner.type === 'step.completed') log.info({ calls: winner.calls }, 'tool call completed');
    else log.warn({ code: winner.error.code, calls: winner.calls }, 'tool call failed');
    return ACK;
  };
}

/** Calls the tool until it answers for good (a result, or an error a retry cannot fix / no retries left). */
async function callWithRetries(nc: NatsConnection, cmd: ToolCommand, ctx: MessageContext, sleep: NonNullable<ToolHandlerDeps['sleep']>, log: Logger): Promise<StepResult | 'interrupted' | { pendingMs: number }> {
  const started = Date.now();
  const hardDeadline = cmd.deadlineAt ? Date.parse(cmd.deadlineAt) : undefined;
  for (let calls = 1; ; calls++) {
    const reply: ToolReply = await callTool(
      nc,
      { schemaVersion: SCHEMA_VERSION, tool: cmd.tool, callId: cmd.callId, idempotencyKey: cmd.idempotencyKey, runId: cmd.runId, stepId: cmd.stepId, arguments: cmd.arguments, ...(cmd.deadlineAt ? { deadlineAt: cmd.deadlineAt } : {}) },
      { timeoutMs: cmd.timeoutMs },
    );
    if (ctx.signal.aborted) return 'interrupted';
    const base = { schemaVersion: SCHEMA_VERSION, runId: cmd.runId, stepId: cmd.stepId, attempt: cmd.attempt, task: 'tool' as const, turn: cmd.turn, calls, usage: { ...ZERO_USAGE }, latencyMs: Date.now() - started, at: new Date().toISOString() };
    const model = { provider: 'tool', model: cmd.tool };
    if (reply.ok) {
      if (reply.cached) log.info('the tool answered from its own receipt: the call had been made before');
      return { ...base, type: 'step.completed', model, output: reply.result, rung: 'direct' };
    }
    const e = reply.error;
    const delay = backoffDelayMs(cmd.retry, calls, e.retryAfterMs);
    if (!e.retryable || !canRetry(cmd.retry, calls, started, delay, Date.now(), hardDeadline)) {
      // `in_progress`: an earlier call with this key (before a crash) is still running, so the outcome
      // is not known yet. Recording it as the call's failure would freeze a wrong answer: hand the
      // command back instead (bounded by the consumer's max_deliver).
      if (e.code === TOOL_ERROR_CODES.inProgress) return { pendingMs: Math.max(delay, e.retryAfterMs ?? 0, 250) };
      return { ...base, type: 'step.failed', model, error: { code: e.code, message: e.message, retryable: e.retryable, ...(e.path ? { path: e.path } : {}) } };
    }
    log.info({ code: e.code, call: calls, delayMs: delay }, 'tool call failed; retrying');
    try {
      await sleep(delay, ctx.signal);
    } catch {
      return 'interrupted';
    }
  }
}
