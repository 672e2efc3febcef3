import { z } from 'zod';
import { ModelTarget, PoolName, RunId, SchemaVersion, StepId, TenantId, Timestamp, Usage, ValidationIssue } from './common.js';
import { RunStatus } from './run-state.js';
import { StepCompleted, StepFailed } from './step.js';

const Base = { schemaVersion: SchemaVersion, runId: RunId, at: Timestamp };

export const RunStarted = z.object({
  ...Base,
  type: z.literal('run.started'),
  pipeline: z.string(),
  pipelineVersion: z.string().optional(),
  tenant: TenantId,
  steps: z.array(StepId),
  labels: z.record(z.string(), z.string()).optional(),
});

/** A run request that failed validation: it never became a run. `issues` name each bad field by path. */
export const RunRejected = z.object({
  ...Base,
  type: z.literal('run.rejected'),
  reason: z.string(),
  issues: z.array(ValidationIssue),
});

export const StepDispatched = z.object({
  ...Base,
  type: z.literal('step.dispatched'),
  stepId: StepId,
  attempt: z.number().int().min(1),
  model: ModelTarget,
  pool: PoolName,
});

/**
 * The executor parked a step: every model it may use is unavailable (breakers open). The command is
 * handed back with a delay and retried; the planner marks the run `paused` until the step finishes.
 */
export const StepParked = z.object({
  ...Base,
  type: z.literal('step.parked'),
  stepId: StepId,
  attempt: z.number().int().min(1),
  reason: z.string(),
  /** When the executor will try again. */
  retryAt: Timestamp,
});

export const RunFinished = z.object({
  ...Base,
  type: z.literal('run.finished'),
  status: RunStatus,
  output: z.unknown().optional(),
  /** Outputs of the steps that succeeded, when the run did not (a partial result). */
  partial: z.record(z.string(), z.unknown()).optional(),
  reason: z.string().optional(),
  usage: Usage,
  costUsd: z.number().nonnegative().default(0),
  durationMs: z.number().nonnegative(),
});

/** Everything published on `pw.events.<runId>.<type>`. */
export const RunEvent = z.discriminatedUnion('type', [RunStarted, RunRejected, StepDispatched, StepParked, StepCompleted, StepFailed, RunFinished]);
export type RunEvent = z.infer<typeof RunEvent>;
export type RunEventType = RunEvent['type'];
export type RunStarted = z.infer<typeof RunStarted>;
export type RunRejected = z.infer<typeof RunRejected>;
export type StepDispatched = z.infer<typeof StepDispatched>;
export type StepParked = z.infer<typeof StepParked>;
export type RunFinished = z.infer<typeof RunFinished>;
