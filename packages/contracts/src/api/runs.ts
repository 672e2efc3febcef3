// The runs API (served by the console service, see docs/api.md): request and response bodies. These
// zod schemas are the source of the OpenAPI document, so every field's doc comment is its description.
import { z } from 'zod';
import { ErrorInfo, ModelTarget, RunId, StepId, TenantId, Timestamp, Usage, ValidationIssue } from '../common.js';
import { RunBudget } from '../pipeline.js';
import { ResumeLimits } from '../run-control.js';
import { Decision, RunStatus, StepStatus } from '../run-state.js';

/** Labels are `key=value` pairs; a filter names one or more, all of which must match. */
export const Labels = z.record(z.string().max(64), z.string().max(256));
export type Labels = z.infer<typeof Labels>;

/** One run in a list: what the index keeps, never the run's outputs. */
export const RunSummary = z.strictObject({
  runId: RunId,
  status: RunStatus,
  pipeline: z.string(),
  tenant: TenantId,
  labels: Labels.default({}),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  finishedAt: Timestamp.optional(),
  steps: z.strictObject({ total: z.number().int().nonnegative(), succeeded: z.number().int().nonnegative() }).describe('Steps of the pipeline, and how many have succeeded so far.'),
  costUsd: z.number().nonnegative().describe('Cost so far (final once the run has finished).'),
  totalTokens: z.number().int().nonnegative(),
  reason: z.string().optional().describe('Why the run ended (or paused), as the planner put it.'),
  rerunOf: z.strictObject({ runId: RunId, stepId: StepId }).optional(),
}).describe('One run in a list: what the index keeps, never the outputs of the run.');
export type RunSummary = z.infer<typeof RunSummary>;

/** Query of `GET /api/v1/runs`. Runs come newest first (by `createdAt`, then `runId`). */
export const RunListQuery = z.strictObject({
  status: z.string().optional().describe('One status or several, comma-separated (`failed,timed_out`).'),
  pipeline: z.string().max(128).optional(),
  label: z.union([z.string(), z.array(z.string())]).optional().describe('`key=value`; repeat the parameter for several labels (all must match).'),
  tenant: TenantId.optional(),
  since: Timestamp.optional().describe('Runs created at or after this time.'),
  until: Timestamp.optional().describe('Runs created before this time.'),
  limit: z.coerce.number().int().min(1).max(500).default(50).describe('Page size (1-500, default 50).'),
  cursor: z.string().max(512).optional().describe('`nextCursor` of the previous page.'),
});
export type RunListQuery = z.infer<typeof RunListQuery>;

export const RunListPage = z.strictObject({
  runs: z.array(RunSummary),
  nextCursor: z.string().optional().describe('Present when there may be more: pass it as `cursor` for the next page.'),
}).describe('A page of runs, newest first.');
export type RunListPage = z.infer<typeof RunListPage>;

/** A step of a run, as `GET /api/v1/runs/{runId}` shows it. */
export const StepView = z.strictObject({
  id: StepId,
  kind: z.enum(['llm', 'agent', 'tool', 'map', 'signal', 'end', 'pipeline']),
  needs: z.array(StepId),
  status: StepStatus,
  attempt: z.number().int().nonnegative(),
  model: ModelTarget.optional(),
  turn: z.number().int().nonnegative().optional().describe('Agent steps: the turn in flight or last finished.'),
  usage: Usage.optional(),
  costUsd: z.number().nonnegative().optional(),
  calls: z.number().int().nonnegative().optional(),
  latencyMs: z.number().nonnegative().optional(),
  output: z.unknown().optional(),
  error: ErrorInfo.optional(),
  approval: z.strictObject({ approvalId: z.string(), kind: z.enum(['step', 'tool', 'budget']), reason: z.string(), requestedAt: Timestamp }).optional().describe('Set while the step waits for a person.'),
  reused: z.boolean().optional().describe('Reused from the source run of a re-run (not run again).'),
  signal: z.strictObject({ name: z.string(), since: Timestamp, until: Timestamp.optional() }).optional().describe('A `signal` step: set while it waits for the named signal (until its timeout, if any).'),
  child: z.strictObject({ runId: RunId }).optional().describe('A `pipeline` step: its child run (of its latest attempt).'),
  items: z
    .strictObject({ total: z.number().int().nonnegative(), succeeded: z.number().int().nonnegative(), running: z.number().int().nonnegative(), failed: z.number().int().nonnegative() })
    .optional()
    .describe('A map step once started: its items (steps `<id>__<index>`) by where they are; pending = total - succeeded - running - failed.'),
  skipReason: z.string().optional().describe('A skipped step: its `when:` was false, or a step it needs was skipped.'),
  dispatchedAt: Timestamp.optional(),
  finishedAt: Timestamp.optional(),
}).describe('A step of a run: its state, attempts, model, usage, cost and output.');
export type StepView = z.infer<typeof StepView>;

/** An approval the run asked for, and what became of it. */
export const ApprovalView = z.strictObject({
  approvalId: z.string(),
  stepId: StepId,
  reason: z.string(),
  requestedAt: Timestamp,
  status: z.enum(['pending', 'approved', 'rejected', 'edited', 'timed_out', 'escalated']),
  decidedBy: z.string().optional(),
  decidedAt: Timestamp.optional(),
  comment: z.string().optional(),
}).describe('An approval the run asked for, and what became of it.');
export type ApprovalView = z.infer<typeof ApprovalView>;

/** `GET /api/v1/runs/{runId}`: the run's state, steps, outputs, cost and decision trail. */
export const RunDetail = RunSummary.extend({
  input: z.record(z.string(), z.unknown()),
  output: z.unknown().optional(),
  partial: z.record(z.string(), z.unknown()).optional().describe('Outputs of the steps that succeeded, when the run did not.'),
  usage: Usage,
  budget: RunBudget.optional(),
  deadlineAt: Timestamp.optional(),
  steps: z.strictObject({ total: z.number().int().nonnegative(), succeeded: z.number().int().nonnegative() }),
  stepList: z.array(StepView),
  decisions: z.array(Decision),
  approvals: z.array(ApprovalView),
  traceId: z.string().optional().describe('The run\'s trace id (W3C), for Jaeger.'),
  traceUrl: z.string().optional().describe('A link to the trace when the console knows the Jaeger UI (`PW_JAEGER_UI_URL`).'),
});
export type RunDetail = z.infer<typeof RunDetail>;

/** `POST /api/v1/runs` answers 202 (a new run) or 200 (the same request again, by its idempotency key or run id). */
export const SubmitAccepted = z.strictObject({
  runId: RunId,
  created: z.boolean().describe('False when this request was already accepted: the run is the earlier one.'),
});
export type SubmitAccepted = z.infer<typeof SubmitAccepted>;

export const CancelBody = z.strictObject({ reason: z.string().max(1000).optional() });
export type CancelBody = z.infer<typeof CancelBody>;

/** `POST /api/v1/runs/cancel`: cancels every run that is not finished and carries all these labels. */
export const CancelByLabelBody = z.strictObject({
  labels: Labels.refine((l) => Object.keys(l).length > 0, 'name at least one label'),
  reason: z.string().max(1000).optional(),
});
export type CancelByLabelBody = z.infer<typeof CancelByLabelBody>;

export const CancelAccepted = z.strictObject({ runIds: z.array(RunId), count: z.number().int().nonnegative() });
export type CancelAccepted = z.infer<typeof CancelAccepted>;

export const ResumeBody = z.strictObject({ budget: RunBudget.optional(), limits: ResumeLimits.optional(), reason: z.string().max(1000).optional() });
export type ResumeBody = z.infer<typeof ResumeBody>;

export const ResumeAccepted = z.strictObject({ runId: RunId, resumeId: z.string() });
export type ResumeAccepted = z.infer<typeof ResumeAccepted>;

/**
 * `POST /api/v1/runs/{runId}/signals/{name}`: sends the run a named signal (what its `signal` steps wait
 * for). `signalId` makes it idempotent (else the Idempotency-Key header, else a fresh id).
 */
export const SignalBody = z.strictObject({
  payload: z.unknown().optional().describe('Any JSON value (at most 64 KiB as JSON): the output of the signal step that takes it'),
  signalId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a signal id is 1-64 letters, digits, "_" or "-"').optional(),
});
export type SignalBody = z.infer<typeof SignalBody>;

export const SignalAccepted = z.strictObject({ runId: RunId, name: z.string(), signalId: z.string() });
export type SignalAccepted = z.infer<typeof SignalAccepted>;

export const RerunBody = z.strictObject({
  fromStep: StepId,
  runId: RunId.optional().describe('The new run\'s id. @default a fresh id'),
  budget: RunBudget.optional(),
  labels: Labels.optional(),
  reason: z.string().max(1000).optional(),
});
export type RerunBody = z.infer<typeof RerunBody>;

export const RerunAccepted = z.strictObject({ runId: RunId, rerunOf: z.strictObject({ runId: RunId, stepId: StepId }) });
export type RerunAccepted = z.infer<typeof RerunAccepted>;

/** `GET /api/v1/batches?label=k=v`: the progress of every run carrying the labels. */
export const BatchStats = z.strictObject({
  labels: Labels,
  total: z.number().int().nonnegative(),
  counts: z.record(RunStatus, z.number().int().nonnegative()),
  throughputPerMin: z.number().nonnegative().describe('Runs finished (any terminal status) per minute over the last five minutes.'),
  costUsd: z.number().nonnegative(),
  totalTokens: z.number().int().nonnegative(),
  firstCreatedAt: Timestamp.optional(),
  lastFinishedAt: Timestamp.optional(),
  failures: z.array(RunSummary).describe('The newest runs that ended other than `succeeded` (at most 20).'),
}).describe('The progress of every run carrying the labels.');
export type BatchStats = z.infer<typeof BatchStats>;

/** Every error the API answers: a code a program can switch on and a message a person can read. */
export const ApiError = z.strictObject({
  error: z.strictObject({
    code: z.enum(['bad_request', 'unauthorized', 'forbidden', 'not_found', 'conflict', 'idempotency_conflict', 'not_resumable', 'payload_too_large', 'unavailable', 'internal']),
    message: z.string(),
    issues: z.array(ValidationIssue).optional().describe('Invalid fields, by path.'),
    differences: z.array(z.string()).optional().describe('`idempotency_conflict`: the paths where this request differs from the one first sent with the key.'),
  }),
});
export type ApiError = z.infer<typeof ApiError>;
