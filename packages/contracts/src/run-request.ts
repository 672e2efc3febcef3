import { z } from 'zod';
import { RunId, SchemaVersion, TenantId, Timestamp } from './common.js';
import { PipelineSpec, RunBudget } from './pipeline.js';
import { ParentRef } from './signal.js';

/**
 * A request to run a pipeline, published to `pw.runs.submit` by anyone (the CLI, any NATS client, the
 * `nats` CLI). The pipeline travels inline, so the run keeps a snapshot of the spec it started with.
 * Give a `runId` to make the submission idempotent: the same request sent again with the same id is
 * the same run; a different request with that id is refused (`run.rejected`, reason `conflict`, its
 * issues naming the fields that differ). Publish it with `msgIds.submit(runId, requestDigest(request))`.
 */
export const RunRequest = z
  .strictObject({
    schemaVersion: SchemaVersion,
    /** Client-chosen id; the planner assigns one when it is absent. */
    runId: RunId.optional(),
    pipeline: PipelineSpec,
    input: z.record(z.string(), z.unknown()).default({}),
    tenant: TenantId.default('default'),
    /** Limits for this run; each overrides the pipeline's `budget` field of the same name. */
    budget: RunBudget.optional(),
    /** Free-form labels, copied onto run events. */
    labels: z.record(z.string().max(64), z.string().max(256)).optional(),
    /** Set by the planner on a sub-pipeline's child run: the parent run and step it reports to. */
    parent: ParentRef.optional(),
  })
  .strict();
export type RunRequest = z.infer<typeof RunRequest>;
export type RunRequestInput = z.input<typeof RunRequest>;

/** Asks the planner to cancel a run; steps in flight finish but nothing new is dispatched. */
export const CancelRequest = z
  .strictObject({
    schemaVersion: SchemaVersion,
    runId: RunId,
    reason: z.string().max(1000).default('cancelled by request'),
  })
  .strict();
export type CancelRequest = z.infer<typeof CancelRequest>;

/** A run's deadline timer (`pw.runs.deadline`, msg id `<runId>:deadline:<n>`): see `subjects.runDeadline`. */
export const RunDeadlineTimer = z
  .strictObject({
    schemaVersion: SchemaVersion,
    runId: RunId,
    deadlineAt: Timestamp,
    /** A step's timer (a `signal` step's timeout) rather than the run's: the step and its attempt. */
    step: z.strictObject({ stepId: z.string().min(1).max(64), attempt: z.number().int().min(1) }).optional(),
  })
  .strict();
export type RunDeadlineTimer = z.infer<typeof RunDeadlineTimer>;
