import { z } from 'zod';
import { RunId, SchemaVersion, StepId } from './common.js';
import { RunBudget } from './pipeline.js';
import type { RunStatus } from './run-state.js';

/**
 * The statuses a run can be resumed from, once it has settled (its `run.finished` is out). A resume
 * that arrives while the run still settles waits for it; of a run in any other status (running,
 * succeeded, unknown) it changes nothing.
 */
export const RESUMABLE_STATUSES: ReadonlySet<RunStatus> = new Set(['failed', 'timed_out', 'budget_exhausted', 'cancelled']);

/** Limits a resumed run gets instead of its pipeline's (each optional: absent keeps the current one). */
export const ResumeLimits = z
  .strictObject({
    /** Wall-clock time the resumed run has, counted from the resume, in milliseconds. */
    deadlineMs: z.number().int().min(1).max(30 * 86_400_000).optional(),
    /** Most step dispatches over the run's whole life (the count so far is kept). */
    maxSteps: z.number().int().min(1).max(100_000).optional(),
  })
  .strict();
export type ResumeLimits = z.infer<typeof ResumeLimits>;

/**
 * Asks the planner to resume a stopped run (`failed`, `timed_out`, `budget_exhausted`, `cancelled`)
 * from where it stopped (`pw.runs.resume`): the steps that succeeded keep their outputs, the steps that
 * failed, were stopped mid-flight or never ran are dispatched again (as their next attempt), steps that
 * wait for a person keep waiting. The planner publishes `run.resumed`, and later a new `run.finished`.
 * `resumeId` makes it idempotent: a resume already applied to the run changes nothing, however often
 * it is delivered. Publish it with `msgIds.resume(runId, resumeId)`.
 */
export const ResumeRequest = z
  .strictObject({
    schemaVersion: SchemaVersion,
    runId: RunId,
    resumeId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a resume id is 1-64 letters, digits, "_" or "-"'),
    /** New spending limits; each replaces the run's limit of the same name. */
    budget: RunBudget.optional(),
    limits: ResumeLimits.optional(),
    reason: z.string().max(1000).default('resumed by request'),
  })
  .strict();
export type ResumeRequest = z.infer<typeof ResumeRequest>;
export type ResumeRequestInput = z.input<typeof ResumeRequest>;

/**
 * Asks the planner for a new run `runId` of the same pipeline and input as `from.runId`
 * (`pw.runs.rerun`): every step other than `from.stepId` and the steps downstream of it keeps the
 * output it had in the source run (when it succeeded there; copied, not paid for again); `from.stepId`
 * and everything after it runs again. The source run must have finished. `run.started` of the new run
 * carries `rerunOf`; an unknown source run or step, or a source still running, gets `run.rejected` for
 * the new run id (issue paths `from.runId`, `from.stepId`). Publish it with `msgIds.rerun(runId, requestDigest(request))`.
 */
export const RerunRequest = z
  .strictObject({
    schemaVersion: SchemaVersion,
    /** The new run's id (the message id: a second delivery is the same rerun). */
    runId: RunId,
    from: z.strictObject({ runId: RunId, stepId: StepId }),
    budget: RunBudget.optional(),
    /** Labels of the new run; absent: the source run's labels. */
    labels: z.record(z.string().max(64), z.string().max(256)).optional(),
    reason: z.string().max(1000).default('re-run by request'),
  })
  .strict();
export type RerunRequest = z.infer<typeof RerunRequest>;
export type RerunRequestInput = z.input<typeof RerunRequest>;
