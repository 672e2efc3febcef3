import type { JetStreamClient } from '@nats-io/jetstream';
import { headers as H, msgIds, SCHEMA_VERSION, subjects, type StepCommand, type StepParked } from '@pipewright/contracts';
import { ACK, publishJson, type Logger, type MessageContext, type Outcome } from '@pipewright/kit';
import type { StepOutcome } from './chain.js';

/**
 * On a command re-published by parking: how many times it was. A nak counts as a delivery, so a step
 * parked through a long outage would reach the consumer's max_deliver and land in the DLQ; instead its
 * last delivery is acked and a fresh copy (generation + 1) goes back to the stream.
 */
export const PARK_GENERATION_HEADER = 'Pw-Park-Generation';
/** Larger than any PW_EXECUTOR_MAX_DELIVER, so `generation * span + delivery` never repeats. */
const GENERATION_SPAN = 1_000;

type Parked = Extract<StepOutcome, { kind: 'parked' }>;

/**
 * Parks a step: tells the planner (event `step.parked`, which pauses the run) and hands the command
 * back to the stream to be tried after the delay. It is never failed for an outage.
 */
export async function parkStep(deps: { js: JetStreamClient; log: Logger }, cmd: StepCommand, ctx: MessageContext, parked: Parked): Promise<Outcome> {
  const generation = parseGeneration(ctx.header(PARK_GENERATION_HEADER));
  const n = generation * GENERATION_SPAN + ctx.deliveryCount;
  const now = Date.now();
  const event: StepParked = {
    schemaVersion: SCHEMA_VERSION,
    type: 'step.parked',
    runId: cmd.runId,
    stepId: cmd.stepId,
    attempt: cmd.attempt,
    ...(cmd.kind === 'agent-turn' && cmd.turn !== undefined ? { turn: cmd.turn } : {}),
    reason: parked.reason,
    ...(parked.usage.totalTokens > 0 ? { usage: parked.usage } : {}),
    ...(parked.costUsd !== undefined && parked.costUsd > 0 ? { costUsd: Math.round(parked.costUsd * 1e9) / 1e9 } : {}),
    retryAt: new Date(now + parked.delayMs).toISOString(),
    at: new Date(now).toISOString(),
  };
  // Agent turns park one by one: the turn is part of both ids, or a later turn would be a duplicate.
  const task = msgIds.task(cmd.stepId, cmd.kind === 'agent-turn' ? cmd.turn : undefined);
  await publishJson(deps.js, subjects.runEvent(cmd.runId, 'step.parked'), event, { msgId: msgIds.event(cmd.runId, 'step.parked', `${task}:${cmd.attempt}:${n}`) });
  deps.log.warn({ delayMs: parked.delayMs, reason: parked.reason, breakers: parked.breakers.chain, park: n }, 'step parked; handed back to the stream');
  if (!ctx.lastDelivery) return { kind: 'retry', delayMs: parked.delayMs, reason: parked.reason };
  await publishJson(deps.js, subjects.stepDispatch(cmd.pool), cmd, {
    msgId: `${msgIds.command(cmd.runId, task, cmd.attempt)}:park${generation + 1}`,
    headers: { [H.replay]: '1', [PARK_GENERATION_HEADER]: String(generation + 1) },
  });
  deps.log.info({ generation: generation + 1 }, 'parked step was on its last delivery: re-published a fresh copy');
  return ACK;
}

function parseGeneration(raw: string | undefined): number {
  const n = raw === undefined ? 0 : Number(raw);
  return Number.isInteger(n) && n >= 0 ? n : 0;
}
