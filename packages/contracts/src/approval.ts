import { z } from 'zod';
import { BudgetRunLimits } from './budget.js';
import { JsonSchemaDoc, RunId, SchemaVersion, StepId, Timestamp } from './common.js';

/**
 * Approval ids appear in URLs, Slack button values and store keys: `<runId>:<stepId>:<attempt>` by
 * convention (deterministic, so a repeated request is the same approval). No `.`, `/` or whitespace.
 */
export const ApprovalId = z
  .string()
  .regex(/^[A-Za-z0-9_:-]{1,200}$/, 'an approval id is 1-200 letters, digits, "_", "-" or ":"');
export type ApprovalId = z.infer<typeof ApprovalId>;

/** What happens when nobody decides in time. `escalate` re-notifies `escalation.to`, then a second timeout rejects. */
export const ApprovalOnTimeout = z.enum(['reject', 'approve', 'escalate']);
export type ApprovalOnTimeout = z.infer<typeof ApprovalOnTimeout>;

/**
 * The action a step proposes: a tool call with its arguments, the step itself (its output waits to be
 * accepted; `arguments` then carries that output for people to read, or a preview of a large one, and
 * cannot be edited), or more budget for the run (`budget`: `arguments` are the proposed run limits
 * `{maxUsd?, maxTokens?}`, which a person may edit within `argumentsSchema`).
 */
export const ProposedAction = z
  .strictObject({
    kind: z.enum(['step', 'tool', 'budget']),
    tool: z.string().min(1).max(200).optional(),
    arguments: z.unknown().optional(),
  })
  .strict();
export type ProposedAction = z.infer<typeof ProposedAction>;

/** A run's limits as a budget approval proposes or changes them (the budget's own run limits); a limit left out stays as it is. */
export const BudgetLimits = BudgetRunLimits;
export type BudgetLimits = BudgetRunLimits;

/** What a person needs to judge a budget approval: the limit reached, the limits in force, the spend. */
export const BudgetAskContext = z
  .strictObject({
    /** The run limit the denied model call would have passed. */
    exceeded: z.enum(['maxUsd', 'maxTokens']),
    /** The run's limits in force when it asked. */
    current: BudgetLimits,
    /** What the run has spent so far (its committed model calls). */
    spentUsd: z.number().nonnegative(),
    spentTokens: z.number().int().nonnegative(),
  })
  .strict();
export type BudgetAskContext = z.infer<typeof BudgetAskContext>;

export const ApprovalEscalation = z
  .strictObject({
    /** The group (or channel) that is notified when the first timeout passes, e.g. `finance-leads`. */
    to: z.string().min(1).max(100),
    /** How long the escalated approval waits before it is rejected. @default the request's timeoutMs */
    timeoutMs: z.number().int().positive().optional(),
  })
  .strict();
export type ApprovalEscalation = z.infer<typeof ApprovalEscalation>;

/** What is waiting for a person: the action a step proposes, with the context to judge it. */
export const ApprovalRequest = z
  .strictObject({
    schemaVersion: SchemaVersion,
    approvalId: ApprovalId,
    runId: RunId,
    stepId: StepId,
    /** The pipeline the run belongs to, for people reading the inbox. */
    pipeline: z.string().max(200).optional(),
    action: ProposedAction,
    /** JSON Schema of the tool's arguments (or of the new limits): an edit is validated against it before it is accepted. */
    argumentsSchema: JsonSchemaDoc.optional(),
    /** `kind: budget` only: the limit reached, the limits in force and what the run has spent. */
    budget: BudgetAskContext.optional(),
    /** Why approval is needed: the policy that matched (`tool refund`, `confidence 0.42 < 0.7`). */
    reason: z.string().max(2_000),
    /** The model's explanation of its choice. */
    reasoning: z.string().max(20_000).optional(),
    confidence: z.number().min(0).max(1).optional(),
    costSoFarUsd: z.number().nonnegative().optional(),
    /** The estimated cost of the proposed action, when a cost policy matched. */
    estimatedCostUsd: z.number().nonnegative().optional(),
    traceId: z.string().regex(/^[0-9a-f]{32}$/, 'a trace id is 32 lower-case hex digits').optional(),
    /** Measured from `requestedAt`; absent means the approval waits for ever. */
    timeoutMs: z.number().int().positive().optional(),
    onTimeout: ApprovalOnTimeout.default('reject'),
    /** Required when `onTimeout` is `escalate`. */
    escalation: ApprovalEscalation.optional(),
    requestedAt: Timestamp,
  })
  .strict()
  .refine((r) => r.onTimeout !== 'escalate' || r.escalation !== undefined, { message: 'onTimeout "escalate" needs escalation.to', path: ['escalation'] });
export type ApprovalRequest = z.infer<typeof ApprovalRequest>;
export type ApprovalRequestInput = z.input<typeof ApprovalRequest>;

/** Where a decision came from. `timeout` is the approver itself applying `onTimeout`. */
export const ApprovalChannel = z.enum(['api', 'cli', 'inbox', 'slack', 'timeout']);
export type ApprovalChannel = z.infer<typeof ApprovalChannel>;

/** Published once per approval on `pw.events.<runId>.approval.decided` (msg id `<approvalId>:decided`). */
export const ApprovalDecision = z
  .strictObject({
    schemaVersion: SchemaVersion,
    type: z.literal('approval.decided'),
    approvalId: ApprovalId,
    runId: RunId,
    stepId: StepId,
    /** `edited` means approved with `arguments` in place of the proposed ones. */
    decision: z.enum(['approved', 'rejected', 'edited']),
    /** Who decided: a token's name, `timeout`, or a channel-qualified id (`slack:U123`). */
    by: z.string().min(1),
    via: ApprovalChannel,
    reason: z.string().optional(),
    /** With `edited`: the arguments the action runs with instead (valid against `argumentsSchema`). */
    arguments: z.unknown().optional(),
    at: Timestamp,
  })
  .strict();
export type ApprovalDecision = z.infer<typeof ApprovalDecision>;

/**
 * Published on `pw.events.<runId>.approval.escalated` when the first timeout passes and the approval
 * is handed to `to`; for `watch` and the audit log (the planner does not act on it).
 */
export const ApprovalEscalated = z
  .strictObject({
    schemaVersion: SchemaVersion,
    type: z.literal('approval.escalated'),
    approvalId: ApprovalId,
    runId: RunId,
    stepId: StepId,
    to: z.string().min(1),
    /** When the escalated approval is rejected if still undecided. */
    deadlineAt: Timestamp,
    at: Timestamp,
  })
  .strict();
export type ApprovalEscalated = z.infer<typeof ApprovalEscalated>;

/** Message ids of the approver's events: a republish after a crash is dropped as a duplicate. */
export const approvalMsgIds = {
  decided: (approvalId: string) => `${approvalId}:decided`,
  escalated: (approvalId: string) => `${approvalId}:escalated`,
} as const;
