import type { ApprovalDecision, PipelineSpec, RerunRequest, ResumeRequest, RunRequest, RunState, StepCompleted, StepFailed, StepParked, StepRevoked, TaskSpent } from '@pipewright/contracts';

/** What the planner reacts to. Each is applied to one run's state by `decide`. */
export type PlannerEvent =
  /**
   * `pw.runs.submit`, admitted: `request` as submitted (its digest is the run's `requestDigest`, so an
   * idempotent resubmit matches), `pipeline` its pipeline with every tool resolved (what the run keeps).
   */
  | { type: 'run.submitted'; runId: string; request: RunRequest; pipeline?: PipelineSpec; traceparent?: string }
  | { type: 'run.cancel'; runId: string; reason: string }
  /** `pw.runs.resume`: resume a stopped run from where it stopped. */
  | { type: 'run.resume'; runId: string; request: ResumeRequest }
  /**
   * `pw.runs.rerun`: a new run (`runId`) reusing outputs of `source`, the run `request.from.runId` as
   * stored, its reused outputs resolved (claim references replaced by their values) by the applier;
   * undefined when there is no such run.
   */
  | { type: 'run.rerun'; runId: string; request: RerunRequest; source: RunState | undefined; traceparent?: string }
  /** The run's deadline timer fired (see `subjects.runDeadline`). */
  | { type: 'run.deadline'; runId: string }
  | StepCompleted
  | StepFailed
  | StepParked
  | StepRevoked
  | TaskSpent
  | ApprovalDecision;

/** A message the planner must publish after its state is stored (`append`: a task-log entry, see OutboxMessage). */
export interface Outgoing {
  subject: string;
  msgId: string;
  payload: unknown;
  append?: true;
}

/** A decision before it gets its number in the run's trail. */
export interface DecisionDraft {
  action: string;
  stepIds: string[];
  reason: string;
}
