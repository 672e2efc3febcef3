import { ancestorSets, requestDigest, TERMINAL_STATUSES, type RunState, type StepState, type ValidationIssue } from '@pipewright/contracts';
import type { Transition } from './builder.js';
import { existingRun } from './conflict.js';
import type { PlannerEvent } from './events.js';
import { startRun } from './start.js';

type RerunEvent = Extract<PlannerEvent, { type: 'run.rerun' }>;

/**
 * A re-run: a new run of the source run's pipeline snapshot and input. Every step that is neither
 * `from.stepId` nor downstream of it (through `needs`, transitively) and that succeeded in the source
 * keeps its output — copied in as succeeded and `reused`, with no usage or cost, since nothing ran —
 * and the rest runs. Its limits are the source run's, each replaced by the request's. Refused (`run.rejected` for the new run id) when the source run is unknown or
 * still running, or has no such step; a source that has ended but still settles is waited for.
 */
export function rerun(current: RunState | undefined, event: RerunEvent, now: Date): Transition {
  const { request, source } = event;
  const digest = requestDigest(request);
  if (current) return existingRun(current, digest, { kind: 'rerun', request });
  const refuse = (path: string, message: string): Transition => ({
    kind: 'unchanged',
    reason: `re-run ${event.runId} refused: ${path}: ${message}`,
    reject: { reason: 'invalid re-run request', issues: [{ path, message }] satisfies ValidationIssue[], key: `rerun:${digest.slice(0, 16)}` },
  });
  const from = request.from;
  if (from.runId === event.runId) return refuse('runId', 'a re-run needs a run id of its own');
  if (!source) return refuse('from.runId', `no such run ${from.runId} (never submitted, or removed by retention)`);
  if (!TERMINAL_STATUSES.has(source.status)) return refuse('from.runId', `run ${from.runId} is ${source.status}: re-run a run once it has finished (cancel it first)`);
  if (source.settling) return { kind: 'unchanged', reason: `run ${from.runId} has ended but still settles: the re-run waits for it`, wait: true };
  const spec = source.pipeline;
  if (!spec.steps.some((s) => s.id === from.stepId))
    return refuse('from.stepId', `run ${from.runId} (pipeline ${spec.name}) has no step ${from.stepId}; its steps: ${spec.steps.map((s) => s.id).join(', ')}`);

  const ancestors = ancestorSets(spec.steps);
  const runsAgain = (id: string) => id === from.stepId || (ancestors.get(id)?.has(from.stepId) ?? false);
  const reused: Record<string, StepState> = {};
  for (const s of spec.steps) {
    const was = source.steps[s.id];
    if (runsAgain(s.id) || was?.status !== 'succeeded') continue;
    reused[s.id] = { status: 'succeeded', attempt: 0, output: was.output, ...(was.model ? { model: was.model } : {}), reused: true, finishedAt: now.toISOString() };
  }
  return startRun(
    {
      runId: event.runId,
      pipeline: spec,
      input: source.input,
      tenant: source.tenant,
      labels: request.labels ?? source.labels,
      // The source's limits as they ended (its request's, raised by approvals), each replaced by the re-run's.
      budget: { ...source.budget, ...request.budget },
      traceparent: event.traceparent,
      requestDigest: digest,
      rerun: { of: { runId: from.runId, stepId: from.stepId }, reused },
    },
    'run.rerun',
    now,
  );
}
