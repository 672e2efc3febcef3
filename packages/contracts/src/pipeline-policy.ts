import { z } from 'zod';
import { ApprovalEscalation, ApprovalOnTimeout } from './approval.js';
import { ModelRef, PoolName } from './common.js';
import { RetryPolicy } from './retry-policy.js';

/** A tool's name as the pipeline declares it (a key of `tools`). */
export const ToolRef = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

/**
 * When a person must approve (the approver service) before the planner goes on. Any trigger that
 * matches asks; the rest says how long the approval waits and what its timeout does. Set in `defaults`
 * for every step and per step: a step's fields override the defaults' field by field, and
 * `approval: false` on a step turns the defaults off for it.
 */
export const ApprovalPolicy = z
  .strictObject({
    /** The step's output waits for approval before it is accepted and the DAG goes on. */
    always: z.boolean().optional(),
    /** Agent steps: a call of one of these tools is held, before it is dispatched, until approved. */
    tools: z.array(ToolRef).max(64).optional(),
    /**
     * Asks when the model's reported confidence (a numeric `confidence` in [0, 1] in the step's output
     * object, or on an agent's action) is below this.
     */
    confidenceBelow: z.number().min(0).max(1).optional(),
    /** Asks when the run's cost so far (USD, including the step or turn being judged) is above this. */
    costAboveUsd: z.number().nonnegative().optional(),
    /** How long the approval waits, from the request. @default no limit (waits for ever) */
    timeoutMs: z.number().int().min(1).max(30 * 86_400_000).optional(),
    /** What the timeout does: reject, approve, or hand it to `escalation.to`. @default "reject" */
    onTimeout: ApprovalOnTimeout.optional(),
    /** Required with `onTimeout: escalate`. */
    escalation: ApprovalEscalation.optional(),
  })
  .strict();
export type ApprovalPolicy = z.infer<typeof ApprovalPolicy>;

/** Policies a step inherits from the pipeline's `defaults` unless it sets its own. */
export const StepPolicyFields = {
  /** Model used when the step names none. */
  model: ModelRef.optional(),
  /** Models tried, in order, when the primary is down (breaker open) or its output cannot be repaired. */
  fallbacks: z.array(ModelRef).max(8).optional(),
  /** Per-call timeout in milliseconds. @default 10000 */
  timeoutMs: z.number().int().min(1).max(3_600_000).optional(),
  retry: RetryPolicy.partial().optional(),
  /** Executor pool that runs the step. @default "default" */
  pool: PoolName.optional(),
  /** Cap of output tokens per call, passed to the model as `max_completion_tokens`. */
  maxOutputTokens: z.number().int().min(1).max(1_000_000).optional(),
  temperature: z.number().min(0).max(2).optional(),
  /** Human approval gates; `false` (on a step) turns off the ones in `defaults`. */
  approval: z.union([ApprovalPolicy, z.literal(false)]).optional(),
};

export const PipelineDefaults = z.strictObject(StepPolicyFields).strict();
export type PipelineDefaults = z.infer<typeof PipelineDefaults>;

/** Guards that end a run with a clear reason instead of letting it run away. */
export const RunLimits = z
  .strictObject({
    /** Most step executions in one run (dispatches, counting re-dispatches). @default 100 */
    maxSteps: z.number().int().min(1).max(100_000).default(100),
    /** Wall-clock budget of a run from its start, in milliseconds. @default 3600000 */
    deadlineMs: z.number().int().min(1).max(30 * 86_400_000).default(3_600_000),
  })
  .strict();
export type RunLimits = z.infer<typeof RunLimits>;

/** Spending limits of one run; the budget service enforces them before every model call. */
export const RunBudget = z
  .strictObject({
    maxUsd: z.number().positive().optional(),
    maxTokens: z.number().int().positive().optional(),
  })
  .strict();
export type RunBudget = z.infer<typeof RunBudget>;

export const BudgetPolicy = RunBudget.extend({
  /**
   * When a model call is denied by a limit. `fail`: the run ends as `budget_exhausted`. `ask`: a run
   * limit (`maxUsd`, `maxTokens`) asks a person for more through the approver (proposed: twice the
   * limit reached) and, once approved, runs the step again. `wait`: a pipeline or tenant limit over a
   * rolling window keeps the step waiting (the run shows `paused`) until the window has room, within
   * the run's deadline; a run limit, which never frees up, still fails the run. @default "fail"
   */
  onExceeded: z.enum(['fail', 'ask', 'wait']).default('fail'),
  /**
   * With `onExceeded: ask`: how long the request for more budget waits before it is rejected (the run
   * then ends `budget_exhausted`). @default the timeout of `defaults.approval`, else no limit
   */
  askTimeoutMs: z.number().int().min(1).max(30 * 86_400_000).optional(),
  /** With the budget service unreachable: make no model call (true) or proceed unmetered (false). @default true */
  failClosed: z.boolean().default(true),
}).strict();
export type BudgetPolicy = z.infer<typeof BudgetPolicy>;
