import { RunId, StepId, StepResult, Timestamp, ToolCallId, ToolName } from '@pipewright/contracts';
import { z } from 'zod';

/**
 * Effects once for tool calls, the executor's side. Before it sends a call to a tool the executor
 * writes an **intent**; once the call has a final answer (the `step.completed` / `step.failed` it
 * publishes) it writes a **receipt** holding that answer. A redelivered command whose receipt exists
 * republishes the stored answer without calling the tool; one with an intent and no receipt (the
 * executor died mid-call: outcome unknown) calls again with the same idempotency key, which the tool
 * dedupes. Both records are first-write-wins. See docs/durability.md.
 */

/** KV bucket of the embedded store that holds intents and receipts. */
export const TOOL_CALLS_BUCKET = 'pw_tool_calls';

/** Identifies one tool call: the same on every redelivery of its command. */
export interface ToolCallRef {
  runId: string;
  stepId: string;
  callId: string;
}

export const ToolIntent = z
  .object({
    runId: RunId,
    stepId: StepId,
    callId: ToolCallId,
    tool: ToolName,
    /** `<runId>:<stepId>:<callId>`: what the tool dedupes on. */
    idempotencyKey: z.string().min(1),
    turn: z.number().int().min(1),
    /** The command's attempt that wrote the intent first. */
    attempt: z.number().int().min(1),
    at: Timestamp,
  })
  .strict();
export type ToolIntent = z.infer<typeof ToolIntent>;

export const ToolReceipt = z
  .object({
    runId: RunId,
    stepId: StepId,
    callId: ToolCallId,
    idempotencyKey: z.string().min(1),
    /** The final answer as published: republished as is (same message id) on a redelivery. */
    result: StepResult,
    at: Timestamp,
  })
  .strict();
export type ToolReceipt = z.infer<typeof ToolReceipt>;

/** What is stored for one call; both absent when the call was never started. */
export interface ToolCallRecord {
  intent?: ToolIntent;
  receipt?: ToolReceipt;
}

export interface ToolCallStore {
  /** Records that the call is about to be sent. First write wins: `exists` when an intent is stored. */
  intend(intent: ToolIntent): Promise<'created' | 'exists'>;
  /** Stores the call's final answer. First write wins: `exists` keeps the earlier receipt. */
  complete(receipt: ToolReceipt): Promise<'created' | 'exists'>;
  get(ref: ToolCallRef): Promise<ToolCallRecord>;
  /** Removes every intent and receipt of the run. */
  deleteRun(runId: string): Promise<void>;
}

const PLAIN_TOKEN = /^[A-Za-z0-9_-]+$/;

/**
 * A call id as one key token. Call ids may hold any character but spaces and `:`, more than NATS KV
 * keys allow; those that are not plain are base64url-encoded behind `=` (which no plain id contains,
 * so two ids never share a token).
 */
export function callIdToken(callId: string): string {
  return PLAIN_TOKEN.test(callId) ? callId : `=${Buffer.from(callId, 'utf8').toString('base64url')}`;
}
