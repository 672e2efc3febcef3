import {
  addUsage,
  msgIds,
  SCHEMA_VERSION,
  subjects,
  TemplateError,
  TERMINAL_STATUSES,
  ZERO_USAGE,
  type Decision,
  type RunEvent,
  type RunState,
  type RunStatus,
  type Step,
} from '@pipewright/contracts';
import { buildCommand, outputStepId, readySteps } from './dispatch.js';
import type { DecisionDraft, Outgoing, PlannerEvent } from './events.js';

/** The result of applying one event to one run. */
export type Transition =
  | { kind: 'changed'; state: RunState; decisions: Decision[]; messages: Outgoing[] }
  /** Nothing to do: a duplicate, or an event for a finished run. Carries why, for the log. */
  | { kind: 'unchanged'; reason: string };

/**
 * The planner's decision function: pure, so it is tested without IO and any replica can apply it.
 * `decide(state, event) → { state, decisions, messages }`; the caller stores the state with
 * compare-and-set and then publishes the messages.
 */
export function decide(current: RunState | undefined, event: PlannerEvent, now: Date): Transition {
  if (event.type === 'run.submitted') {
    if (current) return { kind: 'unchanged', reason: 'run already exists (duplicate submission)' };
    return start(event, now);
  }
  if (!current) return { kind: 'unchanged', reason: `no such run for ${event.type}` };
  if (TERMINAL_STATUSES.has(current.status)) return { kind: 'unchanged', reason: `run already ${current.status}` };
  const b = new Builder(current, now, event.type);

  switch (event.type) {
    case 'run.cancel':
      b.finish('cancelled', event.reason);
      return b.done();
    case 'step.completed': {
      const step = b.state.steps[event.stepId];
      if (!step) return { kind: 'unchanged', reason: `unknown step ${event.stepId}` };
      if (step.status === 'succeeded') return { kind: 'unchanged', reason: `step ${event.stepId} already succeeded (duplicate result)` };
      b.state.steps[event.stepId] = {
        ...step,
        status: 'succeeded',
        output: event.output,
        usage: event.usage,
        model: event.model,
        calls: event.calls,
        rung: event.rung,
        latencyMs: event.latencyMs,
        finishedAt: now.toISOString(),
        ...(event.costUsd !== undefined ? { costUsd: event.costUsd } : {}),
        parkedAt: undefined,
      };
      b.charge(event.usage, event.costUsd);
      b.decide('complete-step', [event.stepId], `step ${event.stepId} succeeded with ${event.model.model} after ${event.calls} call(s) (${event.rung})`);
      b.resumeIfUnparked();
      b.advance();
      return b.done();
    }
    case 'step.failed': {
      const step = b.state.steps[event.stepId];
      if (!step) return { kind: 'unchanged', reason: `unknown step ${event.stepId}` };
      if (step.status === 'succeeded' || step.status === 'failed')
        return { kind: 'unchanged', reason: `step ${event.stepId} already ${step.status}` };
      b.state.steps[event.stepId] = { ...step, status: 'failed', error: event.error, calls: event.calls, finishedAt: now.toISOString(), parkedAt: undefined };
      b.charge(event.usage, event.costUsd);
      if (event.error.code === 'budget_exceeded')
        b.finish('budget_exhausted', `step ${event.stepId}: ${event.error.message} (guard: budget)`, [event.stepId]);
      else b.finish('failed', `step ${event.stepId} failed: ${event.error.code}: ${event.error.message}`, [event.stepId]);
      return b.done();
    }
    case 'step.parked': {
      const step = b.state.steps[event.stepId];
      if (!step || step.status !== 'dispatched') return { kind: 'unchanged', reason: `step ${event.stepId} is not in flight` };
      if (step.parkedAt !== undefined && b.state.status === 'paused') return { kind: 'unchanged', reason: `step ${event.stepId} already parked` };
      b.state.steps[event.stepId] = { ...step, parkedAt: event.at };
      b.state.status = 'paused';
      b.state.reason = `waiting for the provider: ${event.reason}`;
      b.decide('pause', [event.stepId], `step ${event.stepId} parked until ${event.retryAt}: ${event.reason}`);
      return b.done();
    }
  }
}

function start(event: Extract<PlannerEvent, { type: 'run.submitted' }>, now: Date): Transition {
  const { request } = event;
  const spec = request.pipeline;
  const state: RunState = {
    runId: event.runId,
    status: 'running',
    pipeline: spec,
    input: request.input,
    tenant: request.tenant,
    ...(request.labels ? { labels: request.labels } : {}),
    steps: Object.fromEntries(spec.steps.map((s) => [s.id, { status: 'pending' as const, attempt: 0 }])),
    dispatches: 0,
    decisionSeq: 0,
    usage: { ...ZERO_USAGE },
    costUsd: 0,
    budget: {
      ...(request.budget?.maxUsd ?? spec.budget.maxUsd) !== undefined ? { maxUsd: request.budget?.maxUsd ?? spec.budget.maxUsd } : {},
      ...(request.budget?.maxTokens ?? spec.budget.maxTokens) !== undefined ? { maxTokens: request.budget?.maxTokens ?? spec.budget.maxTokens } : {},
    },
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    deadlineAt: new Date(now.getTime() + spec.limits.deadlineMs).toISOString(),
    ...(event.traceparent ? { traceparent: event.traceparent } : {}),
  };
  const b = new Builder(state, now, 'run.submitted');
  b.emit({
    schemaVersion: SCHEMA_VERSION,
    type: 'run.started',
    runId: state.runId,
    at: b.at,
    pipeline: spec.name,
    ...(spec.version !== undefined ? { pipelineVersion: spec.version } : {}),
    tenant: state.tenant,
    steps: spec.steps.map((s) => s.id),
    ...(request.labels ? { labels: request.labels } : {}),
  }, '0');
  b.decide('start', [], `run of ${spec.name} accepted with ${spec.steps.length} step(s)`);
  b.advance();
  return b.done();
}

/** Accumulates one transition: the next state, its decisions and the messages to publish. */
class Builder {
  readonly state: RunState;
  readonly at: string;
  private readonly decisions: DecisionDraft[] = [];
  private readonly messages: Outgoing[] = [];

  constructor(
    current: RunState,
    private readonly now: Date,
    private readonly on: string,
  ) {
    this.state = structuredClone(current);
    this.at = now.toISOString();
  }

  /** Adds a step's usage and cost to the run's totals. */
  charge(usage: RunState['usage'], costUsd: number | undefined): void {
    this.state.usage = addUsage(this.state.usage, usage);
    if (costUsd !== undefined) this.state.costUsd = roundUsd(this.state.costUsd + costUsd);
  }

  /** A paused run goes back to running once no step is parked. */
  resumeIfUnparked(): void {
    const s = this.state;
    if (s.status !== 'paused' || Object.values(s.steps).some((st) => st.parkedAt !== undefined)) return;
    s.status = 'running';
    delete s.reason;
    this.decide('resume', [], 'the provider answered again: no step is parked');
  }

  decide(action: string, stepIds: string[], reason: string): void {
    this.decisions.push({ action, stepIds, reason });
  }

  emit(event: RunEvent, key: string): void {
    this.messages.push({ subject: subjects.runEvent(event.runId, event.type), msgId: msgIds.event(event.runId, event.type, key), payload: event });
  }

  /** Dispatches every ready step, or finishes the run when nothing is left; applies the run guards. */
  advance(): void {
    const s = this.state;
    if (this.now.getTime() > Date.parse(s.deadlineAt)) {
      this.finish('timed_out', `run deadline of ${s.pipeline.limits.deadlineMs} ms passed (guard: limits.deadlineMs)`);
      return;
    }
    const outId = outputStepId(s.pipeline);
    if (s.pipeline.steps.every((st) => s.steps[st.id]?.status === 'succeeded')) {
      this.finish('succeeded', 'every step succeeded', [], s.steps[outId]?.output);
      return;
    }
    const ready = readySteps(s);
    if (ready.length === 0) return; // waiting for steps in flight
    if (s.dispatches + ready.length > s.pipeline.limits.maxSteps) {
      this.finish('failed', `step limit of ${s.pipeline.limits.maxSteps} reached (guard: limits.maxSteps)`);
      return;
    }
    for (const step of ready) if (!this.dispatch(step)) return;
    this.decide('dispatch', ready.map((r) => r.id), `ready: every need of ${ready.map((r) => r.id).join(', ')} succeeded`);
  }

  private dispatch(step: Step): boolean {
    const prev = this.state.steps[step.id] ?? { status: 'pending' as const, attempt: 0 };
    const attempt = prev.attempt + 1;
    let command;
    try {
      command = buildCommand(this.state, step, attempt);
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      this.finish('failed', `step ${step.id}: ${err.message}`, [step.id]);
      return false;
    }
    this.state.steps[step.id] = { ...prev, status: 'dispatched', attempt, model: command.call.model, dispatchedAt: this.at };
    this.state.dispatches += 1;
    this.messages.push({ subject: subjects.stepDispatch(command.pool), msgId: msgIds.command(this.state.runId, step.id, attempt), payload: command });
    this.emit(
      { schemaVersion: SCHEMA_VERSION, type: 'step.dispatched', runId: this.state.runId, at: this.at, stepId: step.id, attempt, model: command.call.model, pool: command.pool },
      `${step.id}:${attempt}`,
    );
    return true;
  }

  finish(status: RunStatus, reason: string, stepIds: string[] = [], output?: unknown): void {
    const s = this.state;
    s.status = status;
    s.reason = reason;
    s.finishedAt = this.at;
    if (output !== undefined) s.output = output;
    const partial = status === 'succeeded' ? undefined : partialOutputs(s);
    this.decide('finish', stepIds, `${status}: ${reason}`);
    this.emit(
      {
        schemaVersion: SCHEMA_VERSION,
        type: 'run.finished',
        runId: s.runId,
        at: this.at,
        status,
        ...(output !== undefined ? { output } : {}),
        ...(partial ? { partial } : {}),
        reason,
        usage: s.usage,
        costUsd: s.costUsd,
        durationMs: Math.max(0, this.now.getTime() - Date.parse(s.createdAt)),
      },
      'final',
    );
  }

  done(): Transition {
    const s = this.state;
    const decisions: Decision[] = this.decisions.map((d, i) => ({ runId: s.runId, seq: s.decisionSeq + i, at: this.at, on: this.on, ...d }));
    s.decisionSeq += decisions.length;
    s.updatedAt = this.at;
    s.outbox = { transition: (s.outbox?.transition ?? 0) + 1, messages: this.messages, decisions };
    return { kind: 'changed', state: s, decisions, messages: this.messages };
  }
}

/** Costs are kept to 1e-9 USD so that sums of many small charges do not drift. */
function roundUsd(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}

function partialOutputs(s: RunState): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [id, st] of Object.entries(s.steps)) if (st.status === 'succeeded') out[id] = st.output;
  return out;
}
