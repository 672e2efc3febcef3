import type { ApprovalDecision, ParentRef, PipelineSpec, RerunRequest, ResumeRequest, RunRequest, RunState, RunStatus, SignalRequest, StepCompleted, StepFailed, StepParked, StepRevoked, TaskSpent, Usage, ValidationIssue } from '@pipewright/contracts';

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
  /** `pw.runs.signal`: a named signal for the run (what its `signal` steps wait for). */
  | { type: 'run.signal'; runId: string; request: SignalRequest }
  /** A step's timer fired (a `signal` step's `timeoutMs`): the step and the attempt it was set for. */
  | { type: 'step.timeout'; runId: string; stepId: string; attempt: number }
  /**
   * A child run (a `pipeline` step's) ended (`run.finished` with `parent`) or was refused (`run.rejected`,
   * status `rejected`): `runId` is the parent's.
   */
  | ChildFinished
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

/** The end of a child run, as its parent learns it. */
export interface ChildFinished {
  type: 'child.finished';
  runId: string;
  parent: ParentRef;
  child: string;
  status: RunStatus | 'rejected';
  output?: unknown;
  reason: string;
  usage: Usage;
  costUsd: number;
  issues?: ValidationIssue[];
}
