import { z } from 'zod';
import { ApprovalDecision, BudgetLimits } from './approval.js';
import { ErrorInfo, ModelTarget, RunId, StepId, TenantId, Timestamp, Usage } from './common.js';
import { ClaimRef } from './claim-check.js';
import { PipelineSpec } from './pipeline.js';
import { ParentRef } from './signal.js';
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
export const PendingApproval = z.strictObject({
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
    .strictObject({
      exceeded: z.enum(['maxUsd', 'maxTokens']),
      current: BudgetLimits,
      proposed: BudgetLimits,
      /** The denial, kept for the run's reason if the request is rejected. */
      error: ErrorInfo,
    })
    .optional(),
  /**
   * A decision that arrived while the run was stopped (failed, cancelled, …): kept, and applied when the
   * run is resumed, since the approver will not send it again.
   */
  decided: ApprovalDecision.optional(),
});
export type PendingApproval = z.infer<typeof PendingApproval>;

export const StepState = z.strictObject({
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
    .strictObject({
      /** The model turn in flight or last finished, from 1. */
      turn: z.number().int().nonnegative(),
      /**
       * The tool calls and results the model sees next turn: kept within the step's `historyTokens`
       * (whole turns dropped oldest first), so the stored run does not grow with the loop.
       */
      history: z.array(ChatMessage),
      /** Tool calls dropped from the history to stay within its budget (the model is told how many). */
      omitted: z.number().int().nonnegative().optional(),
      /** How often each (tool, arguments) was asked for, for the repetition guard (keyed by a digest). */
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
  /** A re-run: the output was copied from the source run's step (it did not run here, and cost nothing). */
  reused: z.boolean().optional(),
  /** A `map` step: how many items its list had when it started (its items are steps `<id>__<index>`). */
  map: z.strictObject({ total: z.number().int().nonnegative() }).optional(),
  /** A `signal` step waiting: for which signal, since when, and until when (its timeout). */
  signal: z.strictObject({ name: z.string(), since: Timestamp, until: Timestamp.optional() }).optional(),
  /**
   * A `pipeline` step: its child run, and the digest of the request that submits it (`requestDigest`):
   * only that very request may start a run that reports to this step.
   */
  child: z
    .strictObject({
      runId: RunId,
      digest: z.string().regex(/^[0-9a-f]{64}$/).optional(),
      /** The limits the child was given: held from this run's own calls while the child runs (see ownBudget). */
      budget: z.strictObject({ maxUsd: z.number().positive().optional(), maxTokens: z.number().int().positive().optional() }).optional(),
    })
    .optional(),
  /** Why the step did not run (`skipped`): its condition, or a need that was skipped. */
  skipReason: z.string().max(2000).optional(),
});
export type StepState = z.infer<typeof StepState>;

/** The planner's checkpoint of one run: a snapshot of the spec, the input, and where each step is. */
export const RunState = z.strictObject({
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
  budget: z.strictObject({ maxUsd: z.number().optional(), maxTokens: z.number().optional() }).default({}),
  output: z.unknown().optional(),
  reason: z.string().optional(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  deadlineAt: Timestamp,
  finishedAt: Timestamp.optional(),
  /** W3C traceparent of the run's root span, so every later span joins the run's trace. */
  traceparent: z.string().optional(),
  /**
   * Transactional outbox: the messages of recent transitions, written atomically with the state (see
   * OutboxEntry). Older stored runs kept one entry as an object; they are read as a list of one.
   */
  outbox: z.preprocess((v) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? [{ answers: 'legacy', writer: 'legacy', at: new Date(0).toISOString(), messages: (v as { messages?: unknown }).messages ?? [] }] : v), z.array(z.lazy(() => OutboxEntry)).max(256).default([])),
  /**
   * Set while a run that ended waits for the tasks that were running to report what they spent: its
   * `run.finished` is published once every one of them has (or at `until`), so its `costUsd` is whole.
   */
  settling: z.strictObject({ tasks: z.array(z.string()), until: Timestamp }).optional(),
  /**
   * The last spending reports that are not a task's result (parks, lost deliveries) already added to
   * the run, so that one delivered twice is counted once.
   */
  charged: z.array(z.string()).max(64).optional(),
  /**
   * SHA-256 of the request that created the run (`requestDigest`: a run request, or a re-run request):
   * the same run id sent again with another request is refused as a conflict, not taken for this run.
   * Absent on runs stored before it was kept.
   */
  requestDigest: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  /** Limits a resume set in place of the pipeline's (`limits.maxSteps`, `limits.deadlineMs`). */
  limits: z.strictObject({ maxSteps: z.number().int().positive().optional(), deadlineMs: z.number().int().positive().optional() }).optional(),
  /**
   * Resumes applied (`pw.runs.resume`): how many, when the last was, and the ids of the latest ones, so
   * a resume delivered again changes nothing. `count` numbers the run's lives: the messages of each
   * life (its `run.finished`, its deadline timer) get ids of their own.
   */
  resumes: z
    .strictObject({ count: z.number().int().positive(), at: Timestamp, ids: z.array(z.string()).max(64) })
    .optional(),
  /** A re-run (`pw.runs.rerun`): the run whose outputs it reused and the step it ran again from. */
  rerunOf: z.strictObject({ runId: RunId, stepId: StepId }).optional(),
  /**
   * What this run's child runs spent (added to `usage`/`costUsd` as they ended). The budget service books
   * a child's calls under the child's id, so this run's own calls get its limits less this (see ownBudget).
   */
  childSpend: z.strictObject({ costUsd: z.number().nonnegative(), tokens: z.number().int().nonnegative() }).optional(),
  /** A child run (a `pipeline` step's): the run and step it reports its result to. */
  parent: ParentRef.optional(),
  /** Signals sent before any step waited for them, by name (the latest of each): taken by the step that waits. */
  signals: z.record(z.string(), z.strictObject({ payload: z.unknown(), at: Timestamp, by: z.string() })).optional(),
  /** The ids of the latest signals applied (taken, kept or refused), so that one sent twice has one effect. */
  signalIds: z.array(z.string()).max(64).optional(),
});
export type RunState = z.infer<typeof RunState>;

/** A message a transition publishes once its state is stored. */
export const OutboxMessage = z.strictObject({
  subject: z.string(),
  msgId: z.string(),
  payload: z.unknown(),
  /** A large payload is stored once as a blob and only its reference is kept here (claim check). */
  payloadRef: ClaimRef.optional(),
  /** An entry of a task's log (a revocation): appended with compare-and-set rather than published. */
  append: z.literal(true).optional(),
});
export type OutboxMessage = z.infer<typeof OutboxMessage>;

/**
 * The messages of one transition, stored with the state it led to. `answers` names the event the
 * transition applied (`<stream>:<seq>`): when that event is delivered again (its planner died before
 * acknowledging it), the entry is republished, because its messages may never have gone out. An entry
 * is dropped once the planner that wrote it has published it and writes the run again, so a run holds
 * about one entry per planner replica; it is never republished merely because another replica loads it.
 */
export const OutboxEntry = z.strictObject({
  answers: z.string(),
  /** The planner process that wrote it. */
  writer: z.string(),
  at: Timestamp,
  messages: z.array(OutboxMessage),
});
export type OutboxEntry = z.infer<typeof OutboxEntry>;

/** One entry of a run's decision trail: what the planner decided, on which event, and why. */
export const Decision = z.strictObject({
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
