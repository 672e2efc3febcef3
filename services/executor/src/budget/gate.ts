import type { ChatMessage, StepCommand } from '@pipewright/contracts';
import { lazyChild, type Logger } from '@pipewright/kit';
import type { CallGate, GatedCall, GateDecision } from '../llm/gate.js';
import { BudgetRequestError, type BudgetClient } from './client.js';
import { leaseMsFor, reservationIdFor } from './reservation.js';
import { countTokens, estimatePromptTokens } from './tokens.js';

/** How long a step waits before it tries again when the budget service is unreachable and the run fails closed. */
export const BUDGET_UNAVAILABLE_RETRY_MS = 5_000;

export interface BudgetGateOptions {
  client: BudgetClient;
  log: Logger;
  /** Called when a call goes unmetered (the service unreachable and the pipeline fails open): for metrics. */
  onUnmetered?: (why: 'fail-open') => void;
  retryMs?: number;
  /** How long a lease outlives its call's timeout. @default LEASE_MARGIN_MS */
  leaseMarginMs?: number;
}

const UNMETERED: GateDecision = { kind: 'admitted' };

/** A step waiting for a pipeline or tenant window looks again after at least this long, and at most this long. */
const WINDOW_WAIT_MIN_MS = 1_000;
const WINDOW_WAIT_MAX_MS = 300_000;

/**
 * The budget before every model call: reserve the estimated prompt plus the output cap. What the call
 * then used is not sent back by request: it travels with the task's result (`spend`), a durable event
 * the budget service books from, so no outage of any length loses a commit and the step's critical
 * path has one budget round trip, not two. A denial fails the step as `budget_exceeded`; an unreachable
 * service defers the step (fail closed) or lets the call go unmetered (fail open), per pipeline.
 */
export function createBudgetGate(o: BudgetGateOptions): CallGate {
  return {
    meters: true,
    async admit(call: GatedCall): Promise<GateDecision> {
      const { cmd } = call;
      const b = cmd.budget;
      if (!b) return UNMETERED;
      const reservationId = reservationIdFor(cmd.runId, reservationStep(cmd), cmd.attempt, call.call, call.delivery);
      const r = await reserveOrExplain(o.client, {
        reservationId,
        runId: cmd.runId,
        stepId: cmd.stepId,
        tenant: b.tenant,
        pipeline: b.pipeline,
        model: call.model,
        estimatedInputTokens: await estimateInput(cmd, call.messages),
        maxOutputTokens: call.maxOutputTokens ?? 0,
        leaseMs: leaseMsFor(cmd.timeoutMs, o.leaseMarginMs),
        limits: { ...(b.maxUsd !== undefined ? { maxUsd: b.maxUsd } : {}), ...(b.maxTokens !== undefined ? { maxTokens: b.maxTokens } : {}) },
      });
      const log = lazyChild(o.log, { runId: cmd.runId, stepId: cmd.stepId, reservationId });
      if (r.kind === 'refused') {
        log.error({ err: r.message }, 'budget service refused the request: a bug, not a budget decision');
        return { kind: 'refused', error: { code: 'budget_error', message: r.message, retryable: false } };
      }
      if (r.kind === 'denied') {
        // Without retryAfterMs the reservation can never fit the window (it is larger than the limit): fail.
        const windowed = (r.limit.startsWith('pipeline.') || r.limit.startsWith('tenant.')) && r.retryAfterMs !== undefined;
        if (windowed && b.onExceeded === 'wait') {
          // A rolling window frees up as old spend leaves it: wait for room rather than fail the run.
          const delayMs = Math.min(WINDOW_WAIT_MAX_MS, Math.max(WINDOW_WAIT_MIN_MS, r.retryAfterMs ?? WINDOW_WAIT_MAX_MS));
          log.info({ limit: r.limit, delayMs }, 'budget window full: the step waits for room (budget.onExceeded: wait)');
          return { kind: 'deferred', delayMs, reason: `waiting for room in the ${r.limit} window (budget.onExceeded: wait): ${r.reason}` };
        }
        log.warn({ limit: r.limit, remaining: r.remaining }, 'budget denied the model call');
        return { kind: 'refused', error: { code: 'budget_exceeded', message: `budget ${r.limit}: ${r.reason}`, retryable: false } };
      }
      if (r.kind === 'unavailable') {
        // The service may have granted it after we stopped waiting (a brownout, not an outage): give it
        // back in the background so a phantom hold does not deny later calls until its lease ends.
        void o.client.release({ reservationId, runId: cmd.runId, reason: 'reserve timed out at the executor' }).catch(() => undefined);
        if (b.failClosed) {
          log.warn({ reason: r.reason }, 'budget service unreachable: the pipeline fails closed, no model call made');
          return { kind: 'deferred', delayMs: o.retryMs ?? BUDGET_UNAVAILABLE_RETRY_MS, reason: `budget service unreachable and the pipeline fails closed (budget.failClosed): no model call made (${r.reason})` };
        }
        log.warn({ reason: r.reason }, 'budget service unreachable: the pipeline fails open, the call goes unmetered');
        o.onUnmetered?.('fail-open');
        return UNMETERED;
      }
      return { kind: 'admitted', reservation: { id: reservationId, reservedUsd: r.reservedUsd, ...(r.price ? { price: r.price } : {}) } };
    },
  };
}

type ReserveAnswer = Awaited<ReturnType<BudgetClient['reserve']>> | { kind: 'refused'; message: string };

/** A reserve's outcome; a request the service refused as malformed is `refused`, any other error `unavailable`. Never throws. */
async function reserveOrExplain(client: BudgetClient, req: Parameters<BudgetClient['reserve']>[0]): Promise<ReserveAnswer> {
  try {
    return await client.reserve(req);
  } catch (err) {
    if (err instanceof BudgetRequestError) return { kind: 'refused', message: err.message };
    return { kind: 'unavailable', reason: err instanceof Error ? err.message : String(err) };
  }
}

/** Agent turns reserve under `<stepId>:t<turn>` (`:` is not in the step-id alphabet), so each turn's calls are reservations of their own. */
function reservationStep(cmd: StepCommand): string {
  return cmd.kind === 'agent-turn' && cmd.turn !== undefined ? `${cmd.stepId}:t${cmd.turn}` : cmd.stepId;
}

/** Prompt tokens with a real tokenizer: the messages (tool calls included), the response schema and the tools offered. */
async function estimateInput(cmd: StepCommand, messages: readonly ChatMessage[]): Promise<number> {
  const flat = messages.map((m) => (m.toolCalls?.length ? { ...m, content: `${m.content}${JSON.stringify(m.toolCalls)}` } : m));
  const prompt = await estimatePromptTokens({ messages: flat, ...(cmd.call.responseSchema ? { responseSchema: cmd.call.responseSchema } : {}) });
  return prompt + (cmd.kind === 'agent-turn' && cmd.tools?.length ? await countTokens(JSON.stringify(cmd.tools)) : 0);
}
