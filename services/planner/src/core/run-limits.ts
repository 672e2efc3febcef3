import type { RunState } from '@pipewright/contracts';

/** Most step dispatches over the run's life: a resume's `limits.maxSteps`, else the pipeline's. */
export function maxStepsOf(s: RunState): number {
  return s.limits?.maxSteps ?? s.pipeline.limits.maxSteps;
}

/** The run's wall-clock allowance: a resume's `limits.deadlineMs`, else the pipeline's. */
export function deadlineMsOf(s: RunState): number {
  return s.limits?.deadlineMs ?? s.pipeline.limits.deadlineMs;
}

/**
 * Which life of the run this is: 0 until it is first resumed, then the number of resumes. Messages that
 * a run sends once per life (its `run.finished`, its deadline timers) carry it in their ids, or
 * JetStream's duplicate window would drop the second life's as a copy of the first's.
 */
export function lifeOf(s: RunState): number {
  return s.resumes?.count ?? 0;
}
