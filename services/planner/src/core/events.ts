import type { ApprovalDecision, RunRequest, StepCompleted, StepFailed, StepParked } from '@pipewright/contracts';

/** What the planner reacts to. Each is applied to one run's state by `decide`. */
export type PlannerEvent =
  | { type: 'run.submitted'; runId: string; request: RunRequest; traceparent?: string }
  | { type: 'run.cancel'; runId: string; reason: string }
  /** The run's deadline timer fired (see `subjects.runDeadline`). */
  | { type: 'run.deadline'; runId: string }
  | StepCompleted
  | StepFailed
  | StepParked
  | ApprovalDecision;

/** A message the planner must publish after its state is stored. */
export interface Outgoing {
  subject: string;
  msgId: string;
  payload: unknown;
}

/** A decision before it gets its number in the run's trail. */
export interface DecisionDraft {
  action: string;
  stepIds: string[];
  reason: string;
}
