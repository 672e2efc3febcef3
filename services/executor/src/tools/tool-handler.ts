import type { NatsConnection } from '@nats-io/transport-node';
import { headers as H, SCHEMA_VERSION, TOOL_ERROR_CODES, ZERO_USAGE, type StepCompleted, type StepFailed, type ToolCommand, type ToolReply } from '@pipewright/contracts';
import { ATTR_GEN_AI_TOOL_NAME, lazyChild, type Logger, type MessageContext, type Outcome } from '@pipewright/kit';
import { callTool } from '@pipewright/tools';
import { backoffDelayMs, canRetry } from '../llm/backoff.js';
import { abortableSleep } from '../llm/sleep.js';
import { runOwned, type OwnedTaskDeps, type WorkResult } from '../ownership/owned-task.js';

export interface ToolHandlerDeps {
  nc: NatsConnection;
  owned: OwnedTaskDeps;
  log: Logger;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/**
 * Performs a tool call the planner validated, as a task of its own (ownership/). Effects once:
 *
 * - the lease is the call's **intent** (appended before the tool is called) and the result appended to
 *   the task's log is its **receipt**: a later delivery of a command whose result is there does nothing;
 * - a delivery that took the task over from an executor that died mid-call does not know whether the
 *   tool acted, so it calls again with the **same idempotency key**, which a tool with receipts
 *   (`@pipewright/tools`) answers from its own receipt instead of acting twice.
 *
 * Retryable failures (no responders, timeouts, busy) follow the step's retry policy; the final answer —
 * a result or an error — goes back to the planner, which feeds it to the agent.
 */
export function createToolHandler(deps: ToolHandlerDeps): (cmd: ToolCommand, ctx: MessageContext) => Promise<Outcome> {
  const sleep = deps.sleep ?? abortableSleep;
  return (cmd, ctx) => {
    ctx.span.setAttributes({ 'pw.run.id': cmd.runId, 'pw.step.id': cmd.stepId, [ATTR_GEN_AI_TOOL_NAME]: cmd.tool, 'gen_ai.tool.call.id': cmd.callId });
    const log = lazyChild(ctx.log, { runId: cmd.runId, stepId: cmd.stepId, tool: cmd.tool, callId: cmd.callId });
    const mayBeHeld = ctx.deliveryCount > 1 || ctx.header(H.replay) !== undefined;
    return runOwned(deps.owned, { runId: cmd.runId, stepId: cmd.stepId, attempt: cmd.attempt, kind: 'tool', turn: cmd.turn }, ctx, mayBeHeld, async (w): Promise<WorkResult> => {
      if (w.takeover) {
        ctx.span.setAttribute('pw.tool.receipt', 'reconciled');
        log.warn({ from: w.takeover.from }, 'tool call outcome unknown (its executor died mid-call): calling again with the same idempotency key');
      }
      // A tool acts on the world: not at all by a delivery whose lease was taken over while it was cut off.
      if (!(await w.stillOwned().catch(() => false))) return { kind: 'handback', delayMs: 1_000, reason: 'the lease could not be confirmed after a connection drop', spend: [] };
      const answer = await callWithRetries(deps.nc, cmd, w.signal, sleep, log, deps.owned.registry.owner);
      if (answer === 'interrupted') {
        if (w.abortedBy() === 'revoked') return { kind: 'final', entry: revoked(cmd, deps.owned.registry.owner) };
        return { kind: 'handback', delayMs: 0, reason: 'executor shutting down', spend: [] };
      }
      // `in_progress`: an earlier call with this key is still running, so the outcome is not known yet.
      // Recording it as the call's failure would freeze a wrong answer: hand the command back instead.
      if ('pendingMs' in answer) return { kind: 'handback', delayMs: answer.pendingMs, reason: 'an earlier call with this idempotency key is still running', spend: [] };
      if (answer.type === 'step.completed') log.info({ calls: answer.calls }, 'tool call completed');
      else log.warn({ code: answer.error.code, calls: answer.calls }, 'tool call failed');
      return { kind: 'final', entry: answer };
    });
  };
}

/** Calls the tool until it answers for good (a result, or an error a retry cannot fix / no retries left). */
async function callWithRetries(nc: NatsConnection, cmd: ToolCommand, signal: AbortSignal, sleep: NonNullable<ToolHandlerDeps['sleep']>, log: Logger, owner: string): Promise<StepCompleted | StepFailed | 'interrupted' | { pendingMs: number }> {
  const started = Date.now();
  const hardDeadline = cmd.deadlineAt ? Date.parse(cmd.deadlineAt) : undefined;
  for (let calls = 1; ; calls++) {
    const reply: ToolReply | 'interrupted' = await untilAborted(
      callTool(
        nc,
        { schemaVersion: SCHEMA_VERSION, tool: cmd.tool, callId: cmd.callId, idempotencyKey: cmd.idempotencyKey, runId: cmd.runId, stepId: cmd.stepId, arguments: cmd.arguments, ...(cmd.deadlineAt ? { deadlineAt: cmd.deadlineAt } : {}) },
        { timeoutMs: cmd.timeoutMs },
      ),
      signal,
    );
    if (reply === 'interrupted' || signal.aborted) return 'interrupted';
    const base = { schemaVersion: SCHEMA_VERSION, runId: cmd.runId, stepId: cmd.stepId, attempt: cmd.attempt, task: 'tool' as const, turn: cmd.turn, calls, usage: { ...ZERO_USAGE }, owner, latencyMs: Date.now() - started, at: new Date().toISOString() };
    const model = { provider: 'tool', model: cmd.tool };
    if (reply.ok) {
      if (reply.cached) log.info('the tool answered from its own receipt: the call had been made before');
      return { ...base, type: 'step.completed', model, output: reply.result, rung: 'direct' };
    }
    const e = reply.error;
    const delay = backoffDelayMs(cmd.retry, calls, e.retryAfterMs);
    if (!e.retryable || !canRetry(cmd.retry, calls, started, delay, Date.now(), hardDeadline)) {
      if (e.code === TOOL_ERROR_CODES.inProgress) return { pendingMs: Math.max(delay, e.retryAfterMs ?? 0, 250) };
      return { ...base, type: 'step.failed', model, error: { code: e.code, message: e.message, retryable: e.retryable, ...(e.path ? { path: e.path } : {}) } };
    }
    log.info({ code: e.code, call: calls, delayMs: delay }, 'tool call failed; retrying');
    try {
      await sleep(delay, signal);
    } catch {
      return 'interrupted';
    }
  }
}

/** The call's reply, or `interrupted` as soon as the signal fires (the tool keeps its receipt either way). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T | 'interrupted'> {
  if (signal.aborted) return Promise.resolve('interrupted');
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve('interrupted');
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function revoked(cmd: ToolCommand, owner: string): StepFailed {
  return {
    schemaVersion: SCHEMA_VERSION,
    type: 'step.failed',
    runId: cmd.runId,
    stepId: cmd.stepId,
    attempt: cmd.attempt,
    task: 'tool',
    turn: cmd.turn,
    calls: 0,
    usage: { ...ZERO_USAGE },
    owner,
    model: { provider: 'tool', model: cmd.tool },
    error: { code: 'revoked', message: 'the run ended while the tool call ran; the call was abandoned', retryable: false },
    latencyMs: 0,
    at: new Date().toISOString(),
  };
}
