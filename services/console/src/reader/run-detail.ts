import { itemStepId, ZERO_USAGE, type RunDetail, type RunRequest, type RunState, type RunSummary, type StepView } from '@pipewright/contracts';
import { approvalsOf } from './approvals.js';
import type { OutputResolver } from './outputs.js';
import { decisionTrail, type SeqEvent } from './run-events.js';

/** `00-<trace id>-<span id>-<flags>` → the trace id. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  return /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(traceparent ?? '')?.[1];
}

/** The summary fields of a stored run (what the index would show, read from the checkpoint instead). */
export function summaryOfState(s: RunState): RunSummary {
  const stepIds = s.pipeline.steps.map((st) => st.id);
  return {
    runId: s.runId,
    status: s.status,
    pipeline: s.pipeline.name,
    tenant: s.tenant,
    labels: { ...(s.labels ?? {}) },
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    ...(s.finishedAt ? { finishedAt: s.finishedAt } : {}),
    steps: { total: stepIds.length, succeeded: stepIds.filter((id) => s.steps[id]?.status === 'succeeded').length },
    costUsd: s.costUsd,
    totalTokens: s.usage.totalTokens,
    ...(s.reason !== undefined ? { reason: s.reason } : {}),
  };
}

/** RunDetail from the checkpoint and the run's events, every output reference resolved. */
export async function buildDetail(s: RunState, events: readonly SeqEvent[], outputs: OutputResolver, jaegerUrl: string | undefined): Promise<RunDetail> {
  const evs = events.map((e) => e.event);
  const started = evs.find((e) => e.type === 'run.started');
  const reused = new Set(started?.type === 'run.started' ? (started.rerunOf?.reused ?? []) : []);
  const finished = evs.findLast((e) => e.type === 'run.finished');
  const stepList: StepView[] = [];
  for (const spec of s.pipeline.steps) {
    const st = s.steps[spec.id];
    const output = st?.output !== undefined ? await outputs.resolve(st.output) : undefined;
    stepList.push({
      id: spec.id,
      kind: spec.kind,
      needs: spec.needs,
      status: st?.status ?? 'pending',
      attempt: st?.attempt ?? 0,
      ...(st?.model ? { model: st.model } : {}),
      ...(st?.agent ? { turn: st.agent.turn } : {}),
      ...(st?.usage ? { usage: st.usage } : {}),
      ...(st?.costUsd !== undefined ? { costUsd: st.costUsd } : {}),
      ...(st?.calls !== undefined ? { calls: st.calls } : {}),
      ...(st?.latencyMs !== undefined ? { latencyMs: st.latencyMs } : {}),
      ...(output !== undefined ? { output } : {}),
      ...(st?.error ? { error: st.error } : {}),
      ...(st?.approval ? { approval: { approvalId: st.approval.approvalId, kind: st.approval.kind, reason: st.approval.reason, requestedAt: st.approval.requestedAt } } : {}),
      ...(reused.has(spec.id) ? { reused: true } : {}),
      ...(st?.signal ? { signal: st.signal } : {}),
      ...(st?.child ? { child: { runId: st.child.runId } } : {}),
      ...(st?.map ? { items: itemCounts(s, spec.id, st.status, st.map.total) } : {}),
      ...(st?.skipReason !== undefined ? { skipReason: st.skipReason } : {}),
      ...(st?.dispatchedAt ? { dispatchedAt: st.dispatchedAt } : {}),
      ...(st?.finishedAt ? { finishedAt: st.finishedAt } : {}),
    });
  }
  const traceId = traceIdOf(s.traceparent);
  const output = s.output !== undefined ? await outputs.resolve(s.output) : undefined;
  const partial = finished?.type === 'run.finished' && finished.partial ? finished.partial : undefined;
  return {
    ...summaryOfState(s),
    ...(started?.type === 'run.started' && started.rerunOf ? { rerunOf: { runId: started.rerunOf.runId, stepId: started.rerunOf.stepId } } : {}),
    input: s.input,
    ...(output !== undefined ? { output } : {}),
    ...(partial ? { partial } : {}),
    usage: s.usage,
    ...(s.budget.maxUsd !== undefined || s.budget.maxTokens !== undefined ? { budget: s.budget } : {}),
    deadlineAt: s.deadlineAt,
    stepList,
    decisions: decisionTrail(evs),
    approvals: approvalsOf(evs),
    ...(traceId ? { traceId } : {}),
    ...(traceId && jaegerUrl ? { traceUrl: `${jaegerUrl.replace(/\/$/, '')}/trace/${traceId}` } : {}),
  };
}

/** A map's items by where they are (a finished map keeps no item records: all succeeded). */
function itemCounts(s: RunState, mapId: string, status: string, total: number): NonNullable<StepView['items']> {
  if (status === 'succeeded') return { total, succeeded: total, running: 0, failed: 0 };
  const counts = { total, succeeded: 0, running: 0, failed: 0 };
  for (let i = 0; i < total; i++) {
    const st = s.steps[itemStepId(mapId, i)]?.status;
    if (st === 'succeeded') counts.succeeded++;
    else if (st === 'dispatched') counts.running++;
    else if (st === 'failed') counts.failed++;
  }
  return counts;
}

/**
 * A run the console accepted that the planner has not started yet (its request is on the bus): what
 * the request says, every step pending. `submittedAt`: when the console accepted it.
 */
export function queuedDetail(req: RunRequest & { runId: string }, submittedAt: string): RunDetail {
  return {
    runId: req.runId,
    status: 'queued',
    pipeline: req.pipeline.name,
    tenant: req.tenant,
    labels: { ...(req.labels ?? {}) },
    createdAt: submittedAt,
    updatedAt: submittedAt,
    steps: { total: req.pipeline.steps.length, succeeded: 0 },
    costUsd: 0,
    totalTokens: 0,
    input: req.input,
    usage: ZERO_USAGE,
    ...(req.budget ? { budget: req.budget } : {}),
    stepList: req.pipeline.steps.map((s) => ({ id: s.id, kind: s.kind, needs: s.needs, status: 'pending', attempt: 0 })),
    decisions: [],
    approvals: [],
  };
}
