import { context, ROOT_CONTEXT, SpanStatusCode, trace, TraceFlags, type Attributes, type Context } from '@opentelemetry/api';
import { TERMINAL_STATUSES, type RunState, type StepState } from '@pipewright/contracts';
import { contextFromTraceparent, derivedSpanId, withSpanId } from '@pipewright/kit';
import { lifeOf } from './core/run-limits.js';

/**
 * The spans of a run and of its steps start in one process and end in another, possibly hours later
 * and after crashes. Their ids are derived from the run (and step attempt), so every message the
 * planner sends for the run hangs under them from the start; each is recorded once, by the planner
 * that applies the transition which ends it (after its compare-and-set, never on a replay).
 */
const tracer = () => trace.getTracer('pipewright.planner');

/** The run's span; a resumed run (life ≥ 1, see lifeOf) has one span per life, from its resume to its end. */
export const runSpanId = (runId: string, life = 0) => derivedSpanId(life === 0 ? `run:${runId}` : `run:${runId}:r${life}`);
export const stepSpanId = (runId: string, stepId: string, attempt: number) => derivedSpanId(`step:${runId}:${stepId}:${attempt}`);

/** The trace id of the run: the one of its submission. */
function traceIdOf(state: RunState): string | undefined {
  return trace.getSpanContext(contextFromTraceparent(state.traceparent))?.traceId;
}

/** A context whose parent is the span `spanId` of the run's trace (not recorded here). */
function parentIn(state: RunState, spanId: string): Context | undefined {
  const traceId = traceIdOf(state);
  if (!traceId) return undefined;
  return trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true });
}

/** The parent of what the planner sends for the run: the run span. */
export const runContext = (state: RunState) => parentIn(state, runSpanId(state.runId, lifeOf(state)));
/** The parent of a step's dispatch: the step span of this attempt. */
export const stepContext = (state: RunState, stepId: string, attempt: number) => parentIn(state, stepSpanId(state.runId, stepId, attempt));

const FINISHED = new Set(['succeeded', 'failed', 'skipped', 'cancelled']);

/** Records the spans that the transition `prev → next` ended: step attempts, then the run. */
export function recordEnded(prev: RunState | undefined, next: RunState): void {
  const run = runContext(next);
  if (!run) return;
  // A resume starts a new life: the stopped life's spans were recorded when it ended.
  const newLife = prev !== undefined && lifeOf(next) > lifeOf(prev);
  const endedRun = TERMINAL_STATUSES.has(next.status) && !next.settling && (newLife || !(prev && TERMINAL_STATUSES.has(prev.status) && !prev.settling));
  if (newLife) {
    if (endedRun) recordRun(next);
    return;
  }
  for (const [id, st] of Object.entries(next.steps)) {
    const was = prev?.steps[id];
    if (!was?.dispatchedAt || was.attempt === 0) continue;
    const wasFinished = FINISHED.has(was.status) && was.finishedAt !== undefined;
    // a finished attempt was recorded when it finished; one dispatched again before it finished ends here
    const retried = st.attempt > was.attempt && !wasFinished;
    const finished = st.attempt === was.attempt && FINISHED.has(st.status) && st.finishedAt !== undefined && !wasFinished;
    if (retried) recordStep(next, run, id, was, 'retried', Date.now());
    else if (finished) recordStep(next, run, id, st, st.status, Date.parse(st.finishedAt!));
    else if (endedRun && !FINISHED.has(st.status)) recordStep(next, run, id, st, `unfinished:${st.status}`, Date.now());
  }
  if (endedRun) recordRun(next);
}

function recordStep(state: RunState, parent: Context, stepId: string, st: StepState, outcome: string, endMs: number): void {
  const attrs: Attributes = {
    'pw.run.id': state.runId,
    'pw.step.id': stepId,
    'pw.step.attempt': st.attempt,
    'pw.step.outcome': outcome,
    ...(st.costUsd !== undefined ? { 'pw.cost.usd': st.costUsd } : {}),
    ...(st.calls !== undefined ? { 'pw.step.calls': st.calls } : {}),
    ...(st.usage ? { 'pw.step.usage.input_tokens': st.usage.inputTokens, 'pw.step.usage.output_tokens': st.usage.outputTokens } : {}),
    ...(st.rung ? { 'pw.repair.rung': st.rung } : {}),
  };
  const startTime = Date.parse(st.dispatchedAt ?? state.createdAt);
  const span = withSpanId(stepSpanId(state.runId, stepId, st.attempt), () => tracer().startSpan(`step ${stepId}`, { startTime, attributes: attrs }, parent));
  if (outcome === 'failed') span.setStatus({ code: SpanStatusCode.ERROR, message: st.error?.message ?? 'step failed' });
  span.end(Math.max(endMs, startTime));
}

function recordRun(state: RunState): void {
  const parent = state.traceparent ? contextFromTraceparent(state.traceparent) : context.active();
  const life = lifeOf(state);
  const span = withSpanId(runSpanId(state.runId, life), () =>
    tracer().startSpan(`run ${state.pipeline.name}`, {
      startTime: Date.parse(life > 0 && state.resumes ? state.resumes.at : state.createdAt),
      attributes: {
        'pw.run.id': state.runId,
        ...(life > 0 ? { 'pw.run.resumes': life } : {}),
        'pw.run.status': state.status,
        'pw.run.cost_usd': state.costUsd,
        'pw.run.usage.input_tokens': state.usage.inputTokens,
        'pw.run.usage.output_tokens': state.usage.outputTokens,
        ...(state.reason ? { 'pw.run.reason': state.reason } : {}),
      },
    }, parent),
  );
  if (state.status === 'failed' || state.status === 'timed_out') span.setStatus({ code: SpanStatusCode.ERROR, message: state.reason ?? state.status });
  span.end();
}
