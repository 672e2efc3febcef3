import {
  addUsage,
  msgIds,
  SCHEMA_VERSION,
  subjects,
  TemplateError,
  TERMINAL_STATUSES,
  type Decision,
  type RunEvent,
  type RunState,
  type RunStatus,
  type Step,
  type StepState,
} from '@pipewright/contracts';
import { buildAgentTurn } from './agent.js';
import { buildCommand, outputStepId, oversize, readySteps } from './dispatch.js';
import type { DecisionDraft, Outgoing } from './events.js';

export type Transition =
  | { kind: 'changed'; state: RunState; decisions: Decision[]; messages: Outgoing[] }
  /** Nothing to do: a duplicate, or an event for a finished run. Carries why, for the log. */
  | { kind: 'unchanged'; reason: string };

/** Accumulates one transition: the next state, its decisions and the messages to publish. */
export class Builder {
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

  /** A paused run goes back to running (or to waiting for approval) once no step is parked. */
  resumeIfUnparked(): void {
    const s = this.state;
    if (s.status !== 'paused' || Object.values(s.steps).some((st) => st.parkedAt !== undefined)) return;
    s.status = 'running';
    delete s.reason;
    this.decide('resume', [], 'the provider answered again: no step is parked');
    this.settleApprovals();
  }

  /** The run is `waiting_approval` while any step waits for a person, else `running` (`paused` wins over both). */
  settleApprovals(): void {
    const s = this.state;
    if (TERMINAL_STATUSES.has(s.status) || s.status === 'paused') return;
    const waiting = Object.values(s.steps).flatMap((st) => (st.approval ? [st.approval.approvalId] : []));
    if (waiting.length > 0) {
      s.status = 'waiting_approval';
      s.reason = `waiting for approval: ${waiting.join(', ')}`;
    } else if (s.status === 'waiting_approval') {
      s.status = 'running';
      delete s.reason;
    }
  }

  /** Accepts a step's output: the step succeeds and the DAG moves on (or the run finishes). */
  completeStep(stepId: string, facts: Partial<StepState>, reason: string): void {
    const st = this.state.steps[stepId]!;
    this.state.steps[stepId] = { ...st, ...facts, status: 'succeeded', finishedAt: this.at, parkedAt: undefined, approval: undefined };
    this.decide('complete-step', [stepId], reason);
    this.settleApprovals();
    this.resumeIfUnparked();
    this.advance();
  }

  decide(action: string, stepIds: string[], reason: string): void {
    this.decisions.push({ action, stepIds, reason });
  }

  /** Queues a message for after the state is stored. */
  send(subject: string, msgId: string, payload: unknown): void {
    this.messages.push({ subject, msgId, payload });
  }

  emit(event: RunEvent, key: string): void {
    this.messages.push({ subject: subjects.runEvent(event.runId, event.type), msgId: msgIds.event(event.runId, event.type, key), payload: event });
  }

  /** Ends the run as `timed_out` if its deadline has passed; says whether it did. */
  timedOut(): boolean {
    const s = this.state;
    if (this.now.getTime() <= Date.parse(s.deadlineAt)) return false;
    this.finish('timed_out', `run deadline of ${s.pipeline.limits.deadlineMs} ms passed (guard: limits.deadlineMs)`);
    return true;
  }

  /** Dispatches every ready step, or finishes the run when nothing is left; applies the run guards. */
  advance(): void {
    const s = this.state;
    if (this.timedOut()) return;
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

  /**
   * Dispatches a step again, as its next attempt (e.g. once a person raised the budget): an agent step
   * takes the turn it was on again, with its history. Says whether it did (a template error ends the run).
   */
  redispatch(step: Step): boolean {
    return this.dispatch(step, true);
  }

  private dispatch(step: Step, again = false): boolean {
    const { error: _previous, ...prev } = this.state.steps[step.id] ?? { status: 'pending' as const, attempt: 0 };
    const attempt = prev.attempt + 1;
    const was = prev.agent;
    const agent = again && was && was.turn > 0 ? { turn: was.turn, history: was.history, actionCounts: was.actionCounts } : { turn: 1, history: [], actionCounts: {} };
    let command;
    try {
      command = step.kind === 'agent' ? buildAgentTurn(this.state, step, attempt, agent.turn, agent.history) : buildCommand(this.state, step, attempt);
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      this.finish('failed', `step ${step.id}: ${err.message}`, [step.id]);
      return false;
    }
    const tooLarge = oversize(command);
    if (tooLarge) {
      this.finish('failed', tooLarge, [step.id]);
      return false;
    }
    this.state.steps[step.id] = {
      ...prev,
      status: 'dispatched',
      attempt,
      model: command.call.model,
      dispatchedAt: this.at,
      ...(step.kind === 'agent' ? { agent } : {}),
    };
    this.state.dispatches += 1;
    this.messages.push({ subject: subjects.stepDispatch(command.pool), msgId: msgIds.command(this.state.runId, msgIds.task(step.id, command.turn), attempt), payload: command });
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
    for (const st of Object.values(s.steps)) delete st.parkedAt;
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

/** Outputs of the steps that succeeded, and where each agent step got to. */
export function partialOutputs(s: RunState): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [id, st] of Object.entries(s.steps)) {
    if (st.status === 'succeeded') out[id] = st.output;
    else if (st.agent) out[id] = { agentTurns: st.agent.turn, history: st.agent.history.slice(-6) };
  }
  return out;
}
