import { z } from 'zod';
import { RunId, SchemaVersion, StepId, Timestamp } from './common.js';

/** What is waiting for a person: the action a step proposes, with the context to judge it. */
export const ApprovalRequest = z
  .object({
    schemaVersion: SchemaVersion,
    /** Deterministic (`<runId>:<stepId>:<attempt>`), so a repeated request is the same approval. */
    approvalId: z.string().min(1).max(200),
    runId: RunId,
    stepId: StepId,
    action: z.object({ kind: z.enum(['step', 'tool']), tool: z.string().optional(), arguments: z.unknown().optional() }),
    /** Why approval is needed: the policy that matched. */
    reason: z.string(),
    reasoning: z.string().optional(),
    confidence: z.number().min(0).max(1).optional(),
    costSoFarUsd: z.number().nonnegative().optional(),
    traceId: z.string().optional(),
    timeoutMs: z.number().int().positive().optional(),
    onTimeout: z.enum(['reject', 'approve', 'escalate']).default('reject'),
    requestedAt: Timestamp,
  })
  .strict();
export type ApprovalRequest = z.infer<typeof ApprovalRequest>;

export const ApprovalDecision = z
  .object({
    schemaVersion: SchemaVersion,
    type: z.literal('approval.decided'),
    approvalId: z.string().min(1),
    runId: RunId,
    stepId: StepId,
    decision: z.enum(['approved', 'rejected', 'edited']),
    /** Who decided: a user name, `timeout`, or a channel-qualified id (`slack:U123`). */
    by: z.string().min(1),
    reason: z.string().optional(),
    /** With `edited`: the arguments the action runs with instead. */
    arguments: z.unknown().optional(),
    at: Timestamp,
  })
  .strict();
export type ApprovalDecision = z.infer<typeof ApprovalDecision>;
