import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { msgIds, SCHEMA_VERSION, subjects, ZERO_USAGE, type ToolCommand } from '@pipewright/contracts';
import { ACK, publishJson, type Logger, type MessageContext, type Outcome } from '@pipewright/kit';
import { callTool } from '@pipewright/tools';
import { backoffDelayMs, canRetry } from '../llm/backoff.js';
import { abortableSleep } from '../llm/sleep.js';

export interface ToolHandlerDeps {
  nc: NatsConnection;
  js: JetStreamClient;
  log: Logger;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/**
 * Performs a tool call the planner validated. Effects once: the tool gets the call's idempotency key
 * and keeps a receipt, so a redelivered command gets the stored reply instead of acting twice.
 * Retryable failures (no responders, timeouts, busy) follow the step's retry policy; the final answer —
 * a result or an error — goes back to the planner, which feeds it to the agent.
 */
export function createToolHandler(deps: ToolHandlerDeps): (cmd: ToolCommand, ctx: MessageContext) => Promise<Outcome> {
  const sleep = deps.sleep ?? abortableSleep;
  return async (cmd, ctx) => {
    ctx.span.setAttributes({ 'pw.run.id': cmd.runId, 'pw.step.id': cmd.stepId, 'gen_ai.tool.name': cmd.tool, 'gen_ai.tool.call.id': cmd.callId });
    const started = Date.now();
    const hardDeadline = cmd.deadlineAt ? Date.parse(cmd.deadlineAt) : undefined;
    let calls = 0;
    for (;;) {
      calls += 1;
      const reply = await callTool(
        deps.nc,
        { schemaVersion: SCHEMA_VERSION, tool: cmd.tool, callId: cmd.callId, idempotencyKey: cmd.idempotencyKey, runId: cmd.runId, stepId: cmd.stepId, arguments: cmd.arguments, ...(cmd.deadlineAt ? { deadlineAt: cmd.deadlineAt } : {}) },
        { timeoutMs: cmd.timeoutMs },
      );
      if (ctx.signal.aborted) return { kind: 'retry', delayMs: 0, reason: 'executor shutting down' };
      const base = { schemaVersion: SCHEMA_VERSION, runId: cmd.runId, stepId: cmd.stepId, attempt: cmd.attempt, task: 'tool' as const, turn: cmd.turn, calls, usage: { ...ZERO_USAGE }, latencyMs: Date.now() - started, at: new Date().toISOString() };
      if (reply.ok) {
        await publishJson(deps.js, subjects.runEvent(cmd.runId, 'step.completed'), { ...base, type: 'step.completed', model: { provider: 'tool', model: cmd.tool }, output: reply.result, rung: 'direct' }, { msgId: msgIds.event(cmd.runId, 'step.completed', `${cmd.stepId}:t${cmd.turn}:tool`) });
        ctx.log.info({ runId: cmd.runId, stepId: cmd.stepId, tool: cmd.tool, calls, cached: reply.cached ?? false }, 'tool call completed');
        return ACK;
      }
      const e = reply.error;
      const delay = backoffDelayMs(cmd.retry, calls, e.retryAfterMs);
      if (e.retryable && canRetry(cmd.retry, calls, started, delay, Date.now(), hardDeadline)) {
        ctx.log.info({ tool: cmd.tool, code: e.code, call: calls, delayMs: delay }, 'tool call failed; retrying');
        try {
          await sleep(delay, ctx.signal);
        } catch {
          return { kind: 'retry', delayMs: 0, reason: 'executor shutting down' };
        }
        continue;
      }
      await publishJson(deps.js, subjects.runEvent(cmd.runId, 'step.failed'), { ...base, type: 'step.failed', model: { provider: 'tool', model: cmd.tool }, error: { code: e.code, message: e.message, retryable: e.retryable, ...(e.path ? { path: e.path } : {}) } }, { msgId: msgIds.event(cmd.runId, 'step.failed', `${cmd.stepId}:t${cmd.turn}:tool`) });
      ctx.log.warn({ tool: cmd.tool, code: e.code, calls }, 'tool call failed');
      return ACK;
    }
  };
}
