import { TERMINAL_STATUSES, type RunState } from '@pipewright/contracts';
import { Counter, Histogram, type Registry } from '@pipewright/kit';

/** Run durations span a one-second echo to a day-long run waiting for a person. */
const RUN_DURATION_BUCKETS_S = [0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14_400, 86_400];
/** Step outcomes the planner records (a step ends succeeded, failed, or skipped when a need failed). */
const FINAL_STEP_STATUSES: ReadonlySet<string> = new Set(['succeeded', 'failed', 'skipped']);

export interface PlannerMetrics {
  /** Runs that reached a final status, by pipeline and status. */
  runs: Counter<'pipeline' | 'status'>;
  /** Time from a run's creation to its final status. */
  runDuration: Histogram<'pipeline' | 'status'>;
  /** Steps that reached a final status, by kind (llm, agent) and outcome. */
  steps: Counter<'kind' | 'outcome'>;
  /** Compare-and-set writes of a run that lost to another writer (the event is decided again). */
  casConflicts: Counter<'store'>;
  /** Events delivered again after they were applied: their outbox entry was published again. */
  outboxRepublished: Counter;
}

export function createPlannerMetrics(registry: Registry): PlannerMetrics {
  const registers = [registry];
  const casConflicts = new Counter({ name: 'pw_cas_conflicts_total', help: 'Compare-and-set writes that lost to another writer and were retried, by store', labelNames: ['store'], registers });
  casConflicts.inc({ store: 'runs' }, 0); // a series from the start, so that rate() sees the first conflict
  return {
    runs: new Counter({ name: 'pw_runs_total', help: 'Runs that reached a final status, by pipeline and status', labelNames: ['pipeline', 'status'], registers }),
    runDuration: new Histogram({ name: 'pw_run_duration_seconds', help: 'Time from a run being created to its final status', labelNames: ['pipeline', 'status'], buckets: RUN_DURATION_BUCKETS_S, registers }),
    steps: new Counter({ name: 'pw_steps_total', help: 'Steps that reached a final status, by step kind and outcome (succeeded, failed, skipped)', labelNames: ['kind', 'outcome'], registers }),
    casConflicts,
    outboxRepublished: new Counter({ name: 'pw_outbox_republished_total', help: 'Events delivered again after they were applied: the transition they caused was published again', registers }),
  };
}

/** Records what a stored transition finished: the run (once, when it first becomes final) and its steps. */
export function recordTransition(m: PlannerMetrics, before: RunState | undefined, after: RunState): void {
  const pipeline = after.pipeline.name;
  if (TERMINAL_STATUSES.has(after.status) && !(before && TERMINAL_STATUSES.has(before.status))) {
    m.runs.inc({ pipeline, status: after.status });
    const endedAt = Date.parse(after.finishedAt ?? after.updatedAt);
    const seconds = (endedAt - Date.parse(after.createdAt)) / 1000;
    if (Number.isFinite(seconds) && seconds >= 0) m.runDuration.observe({ pipeline, status: after.status }, seconds);
  }
  for (const step of after.pipeline.steps) {
    const now = after.steps[step.id]?.status;
    if (now === undefined || !FINAL_STEP_STATUSES.has(now)) continue;
    const was = before?.steps[step.id]?.status;
    if (was !== undefined && FINAL_STEP_STATUSES.has(was)) continue;
    m.steps.inc({ kind: step.kind, outcome: now });
  }
}
