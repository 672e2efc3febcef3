import { SCHEMA_VERSION, subjects, ZERO_USAGE, type ParentRef, type PipelineSpec, type RunBudget, type RunDeadlineTimer, type RunState, type StepState } from '@pipewright/contracts';
import { Builder, type Transition } from './builder.js';
import { deadlineTimerMsgId } from './timers.js';

/** What a new run starts from: a submission, or a re-run of another run. */
export interface NewRun {
  runId: string;
  pipeline: PipelineSpec;
  input: Record<string, unknown>;
  tenant: string;
  labels?: Record<string, string> | undefined;
  /** The request's limits, each over the pipeline's of the same name. */
  budget?: RunBudget | undefined;
  traceparent?: string | undefined;
  /** `requestDigest` of the request that creates the run. */
  requestDigest: string;
  /** A re-run: the source run and step, and the steps whose outputs it reuses (as they start: succeeded). */
  rerun?: { of: { runId: string; stepId: string }; reused: Record<string, StepState> };
  /** A child run (a `pipeline` step's): the run and step it reports to. */
  parent?: ParentRef | undefined;
}

/** A run's first transition: its state, `run.started`, its deadline timer, and the dispatch of every ready step. */
export function startRun(n: NewRun, on: string, now: Date): Transition {
  const spec = n.pipeline;
  const maxUsd = n.budget?.maxUsd ?? spec.budget.maxUsd;
  const maxTokens = n.budget?.maxTokens ?? spec.budget.maxTokens;
  const reused = n.rerun?.reused ?? {};
  const state: RunState = {
    runId: n.runId,
    status: 'running',
    pipeline: spec,
    input: n.input,
    tenant: n.tenant,
    ...(n.labels ? { labels: n.labels } : {}),
    steps: Object.fromEntries(spec.steps.map((s) => [s.id, reused[s.id] ?? { status: 'pending' as const, attempt: 0 }])),
    outbox: [],
    dispatches: 0,
    decisionSeq: 0,
    usage: { ...ZERO_USAGE },
    costUsd: 0,
    budget: { ...(maxUsd !== undefined ? { maxUsd } : {}), ...(maxTokens !== undefined ? { maxTokens } : {}) },
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    deadlineAt: new Date(now.getTime() + spec.limits.deadlineMs).toISOString(),
    ...(n.traceparent ? { traceparent: n.traceparent } : {}),
    requestDigest: n.requestDigest,
    ...(n.rerun ? { rerunOf: n.rerun.of } : {}),
    ...(n.parent ? { parent: n.parent } : {}),
  };
  const b = new Builder(state, now, on);
  const reusedIds = Object.keys(reused);
  b.emit({
    schemaVersion: SCHEMA_VERSION,
    type: 'run.started',
    runId: state.runId,
    at: b.at,
    pipeline: spec.name,
    ...(spec.version !== undefined ? { pipelineVersion: spec.version } : {}),
    tenant: state.tenant,
    steps: spec.steps.map((s) => s.id),
    ...(n.labels ? { labels: n.labels } : {}),
    ...(n.rerun ? { rerunOf: { ...n.rerun.of, reused: reusedIds } } : {}),
  }, '0');
  b.decide('start', [], `run of ${spec.name} accepted with ${spec.steps.length} step(s)`);
  if (n.rerun)
    b.decide('reuse', reusedIds, `re-run of ${n.rerun.of.runId} from step ${n.rerun.of.stepId}: ${reusedIds.length > 0 ? `outputs of ${reusedIds.join(', ')} reused` : 'no output reused'}`);
  const timer: RunDeadlineTimer = { schemaVersion: SCHEMA_VERSION, runId: state.runId, deadlineAt: state.deadlineAt };
  b.send(subjects.runDeadline, deadlineTimerMsgId(state.runId, 0), timer);
  b.advance();
  return b.done();
}
