import { z } from 'zod';
import { BudgetLimits } from './approval.js';
import { ErrorInfo, ModelTarget, RunId, TenantId, Timestamp, Usage } from './common.js';
import { PipelineSpec } from './pipeline.js';
import { ChatMessage, RepairRung, ToolCall } from './step.js';

export const RunStatus = z.enum([
  'queued',
  'running',
  'waiting_approval',
  'paused',
  'succeeded',
  'failed',
  'cancelled',
  'budget_exhausted',
  'timed_out',
]);
export type RunStatus = z.infer<typeof RunStatus>;

export const TERMINAL_STATUSES: ReadonlySet<RunStatus> = new Set(['succeeded', 'failed', 'cancelled', 'budget_exhausted', 'timed_out']);

export const StepStatus = z.enum(['pending', 'dispatched', 'succeeded', 'failed', 'skipped']);
export type StepStatus = z.infer<typeof StepStatus>;

/**
 * An approval a step waits for. `step`: the step ran and its output waits to be accepted. `tool`: an
 * agent's tool call is held before dispatch. `budget`: a model call of the step was denied by a run
 * limit and the step waits for more budget (`budget.onExceeded: ask`). The approval id is the
 * request's msg id.
 */
export const PendingApproval = z.object({
  approvalId: z.string(),
  kind: z.enum(['step', 'tool', 'budget']),
  /** The policies that matched, as sent in the request. */
  reason: z.string(),
  requestedAt: Timestamp,
  /** `step`: the output that is accepted on approval. */
  output: z.unknown().optional(),
  /** `tool`: the held call (the model's arguments) and the turn that proposed it. */
  call: ToolCall.optional(),
  turn: z.number().int().min(1).optional(),
  /** `budget`: the limit reached, the limits in force when it asked, and the proposed ones. */
  budget: z
    .object({
      exceeded: z.enum(['maxUsd', 'maxTokens']),
      current: BudgetLimits,
      proposed: BudgetLimits,
      /** The denial, kept for the run's reason if the request is rejected. */
      error: ErrorInfo,
    })
    .optional(),
});
export type PendingApproval = z.infer<typeof PendingApproval>;

export const StepState = z.object({
  status: StepStatus,
  /** Dispatches so far. */
  attempt: z.number().int().nonnegative(),
  model: ModelTarget.optional(),
  output: z.unknown().optional(),
  usage: Usage.optional(),
  costUsd: z.number().nonnegative().optional(),
  calls: z.number().int().nonnegative().optional(),
  /** Agent steps: where the loop is. */
  agent: z
    .object({
      /** The model turn in flight or last finished, from 1. */
      turn: z.number().int().nonnegative(),
      /** Tool calls and results so far (trimmed to the step's history budget when sent). */
      history: z.array(ChatMessage),
      /** How often each (tool, arguments) was asked for, for the repetition guard. */
      actionCounts: z.record(z.string(), z.number().int().positive()),
      /** The validated tool call being executed. */
      pendingCall: ToolCall.optional(),
    })
    .optional(),
  /** Set while the step waits for a person (the run is `waiting_approval`); cleared by the decision. */
  approval: PendingApproval.optional(),
  /** Set while the executor has parked the step (every model down); cleared when it finishes. */
  parkedAt: Timestamp.optional(),
  rung: RepairRung.optional(),
  latencyMs: z.number().nonnegative().optional(),
  error: ErrorInfo.optional(),
  dispatchedAt: Timestamp.optional(),
  finishedAt: Timestamp.optional(),
});
export type StepState = z.infer<typeof StepState>;

/** The planner's checkpoint of one run: a snapshot of the spec, the input, and where each step is. */
export const RunState = z.object({
  runId: RunId,
  status: RunStatus,
  pipeline: PipelineSpec,
  input: z.record(z.string(), z.unknown()),
  tenant: TenantId,
  labels: z.record(z.string(), z.string()).optional(),
  steps: z.record(z.string(), StepState),
  /** Step dispatches so far, against `limits.maxSteps`. */
  dispatches: z.number().int().nonnegative(),
  /** Decisions so far; the next decision gets this number. */
  decisionSeq: z.number().int().nonnegative(),
  usage: Usage,
  /** Total cost of the run's model calls so far. */
  costUsd: z.number().nonnegative().default(0),
  /** Effective limits: the pipeline's budget with the run request's overrides. */
  budget: z.object({ maxUsd: z.number().optional(), maxTokens: z.number().optional() }).default({}),
  output: z.unknown().optional(),
  reason: z.string().optional(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  deadlineAt: Timestamp,
  finishedAt: Timestamp.optional(),
  /** W3C traceparent of the run's root span, so every later span joins the run's trace. */
  traceparent: z.string().optional(),
  /**
   * Transactional outbox: the messages and decisions of the last transition, written atomically with
   * the state. Whoever loads the run next republishes them (deterministic msg ids make that harmless),
   * so a crash between the state write and the publish loses nothing.
   */
  outbox: z
    .object({
      transition: z.number().int().nonnegative(),
      messages: z.array(z.object({ subject: z.string(), msgId: z.string(), payload: z.unknown() })),
      decisions: z.array(z.lazy(() => Decision)),
    })
    .optional(),
});
export type RunState = z.infer<typeof RunState>;

/** One entry of a run's decision trail: what the planner decided, on which event, and why. */
export const Decision = z.object({
  runId: RunId,
  seq: z.number().int().nonnegative(),
  at: Timestamp,
  /** The event that led to it (`run.submitted`, `step.completed`, …). */
  on: z.string(),
  /** What was decided: `dispatch`, `finish`, `fail`, `retry`, `ignore`, … */
  action: z.string(),
  stepIds: z.array(z.string()).default([]),
  reason: z.string(),
});
export type Decision = z.infer<typeof Decision>;
