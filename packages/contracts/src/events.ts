import { z } from 'zod';
import { ApprovalDecision, ApprovalEscalated, ApprovalId, ApprovalOnTimeout, ProposedAction } from './approval.js';
import { ModelTarget, PoolName, RunId, SchemaVersion, StepId, TenantId, Timestamp, Usage, ValidationIssue } from './common.js';
import { Decision, RunStatus } from './run-state.js';
import { ParentRef } from './signal.js';
import { StepCompleted, StepFailed } from './step.js';
import { Spend, StepRevoked, StepStarted, TaskSpent } from './task.js';

const Base = { schemaVersion: SchemaVersion, runId: RunId, at: Timestamp };

/**
 * The planner's decisions travel on the events of the transition that made them (the first event of the
 * transition carries them all), so the decision trail is the run's events, not a second write.
 */
const Decided = { decisions: z.array(Decision).max(1_000).optional() };

export const RunStarted = z.strictObject({
  ...Base,
  ...Decided,
  type: z.literal('run.started'),
  pipeline: z.string(),
  pipelineVersion: z.string().optional(),
  tenant: TenantId,
  steps: z.array(StepId),
  labels: z.record(z.string(), z.string()).optional(),
  /** A re-run: the run it reuses outputs from, the step it runs again from, and the steps it reused. */
  rerunOf: z.strictObject({ runId: RunId, stepId: StepId, reused: z.array(StepId) }).optional(),
});

/**
 * A stopped run was resumed (`pw.runs.resume`): it is `running` again; `steps` are the steps that run
 * again (failed, cancelled or never dispatched), and the limits in force from now on.
 */
export const RunResumed = z.strictObject({
  ...Base,
  ...Decided,
  type: z.literal('run.resumed'),
  resumeId: z.string(),
  /** The status the run had stopped in. */
  from: RunStatus,
  steps: z.array(StepId),
  reason: z.string(),
  deadlineAt: Timestamp,
  budget: z.strictObject({ maxUsd: z.number().optional(), maxTokens: z.number().optional() }).optional(),
  maxSteps: z.number().int().positive().optional(),
});

/** A run request that failed validation: it never became a run. `issues` name each bad field by path. */
export const RunRejected = z.strictObject({
  ...Base,
  type: z.literal('run.rejected'),
  reason: z.string(),
  issues: z.array(ValidationIssue),
  /** A child run (a `pipeline` step's) that was refused: the parent run and step it reports to. */
  parent: ParentRef.optional(),
});

export const StepDispatched = z.strictObject({
  ...Base,
  ...Decided,
  type: z.literal('step.dispatched'),
  stepId: StepId,
  attempt: z.number().int().min(1),
  model: ModelTarget,
  pool: PoolName,
});

/**
 * The executor parked a step: every model it may use is unavailable (breakers open), or the budget
 * service is unreachable and the run fails closed. The command is handed back with a delay and
 * retried; the planner marks the run `paused` until the step finishes.
 */
export const StepParked = z.strictObject({
  ...Base,
  type: z.literal('step.parked'),
  stepId: StepId,
  attempt: z.number().int().min(1),
  /** Agent steps: the turn that parked. */
  turn: z.number().int().min(1).optional(),
  reason: z.string(),
  /** When the executor will try again. */
  retryAt: Timestamp,
  /** Calls this delivery made (and paid for) before it parked; the planner adds them to the run. */
  usage: Usage.optional(),
  costUsd: z.number().nonnegative().optional(),
  /** Each metered call of the delivery, for the budget service to book. */
  spend: z.array(Spend).max(1_000).optional(),
  owner: z.string().max(128).optional(),
});

export const RunFinished = z.strictObject({
  ...Base,
  ...Decided,
  type: z.literal('run.finished'),
  status: RunStatus,
  output: z.unknown().optional(),
  /** Outputs of the steps that succeeded, when the run did not (a partial result). */
  partial: z.record(z.string(), z.unknown()).optional(),
  reason: z.string().optional(),
  usage: Usage,
  costUsd: z.number().nonnegative().default(0),
  /**
   * Tasks still running when the run ended whose spending was not reported before the settle deadline
   * (their executor vanished): `costUsd` may lack what they spent. Absent when every task settled.
   */
  unsettled: z.number().int().positive().optional(),
  durationMs: z.number().nonnegative(),
  /** A child run (a `pipeline` step's): the parent run and step it reports its result to. */
  parent: ParentRef.optional(),
});

/** Decisions of a transition that published no other event (e.g. an agent's next turn). */
export const RunDecided = z.strictObject({
  ...Base,
  type: z.literal('run.decided'),
  decisions: z.array(Decision).min(1).max(1_000),
});

/**
 * The planner asked a person (through the approver) and the step waits: for `watch` and the audit log.
 * The request itself goes to `pw.approvals.request`.
 */
export const ApprovalRequested = z.strictObject({
  ...Base,
  ...Decided,
  type: z.literal('approval.requested'),
  approvalId: ApprovalId,
  stepId: StepId,
  action: ProposedAction,
  /** The policies that matched. */
  reason: z.string(),
  timeoutMs: z.number().int().positive().optional(),
  onTimeout: ApprovalOnTimeout,
});

/** Everything published on `pw.events.<runId>.<type>`: the planner's, the executors' and the approver's. */
export const RunEvent = z.discriminatedUnion('type', [
  RunStarted,
  RunResumed,
  RunRejected,
  RunDecided,
  StepDispatched,
  StepStarted,
  StepParked,
  StepRevoked,
  TaskSpent,
  StepCompleted,
  StepFailed,
  RunFinished,
  ApprovalRequested,
  ApprovalDecision,
  ApprovalEscalated,
]);
export type RunEvent = z.infer<typeof RunEvent>;
export type RunEventType = RunEvent['type'];
export type RunStarted = z.infer<typeof RunStarted>;
export type RunResumed = z.infer<typeof RunResumed>;
export type RunRejected = z.infer<typeof RunRejected>;
export type StepDispatched = z.infer<typeof StepDispatched>;
export type StepParked = z.infer<typeof StepParked>;
export type RunFinished = z.infer<typeof RunFinished>;
export type RunDecided = z.infer<typeof RunDecided>;
export type ApprovalRequested = z.infer<typeof ApprovalRequested>;
