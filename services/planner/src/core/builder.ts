import {
  addUsage,
  isModelStep,
  msgIds,
  roundUsd,
  SCHEMA_VERSION,
  subjects,
  taskIdOf,
  TemplateError,
  TERMINAL_STATUSES,
  type Decision,
  type RunEvent,
  type RunState,
  type RunStatus,
  type Step,
  type StepState,
  type ValidationIssue,
} from '@pipewright/contracts';
import { buildAgentTurn } from './agent.js';
import { buildCommand, isDone, outputStepId, oversize, readySteps } from './dispatch.js';
import type { DecisionDraft, Outgoing } from './events.js';
import { attachDecisions } from './decisions.js';
import { startFlowStep } from './flow.js';
import { onItemSucceeded, reservedDispatches, succeededItems } from './map.js';
import { itemOf } from './map-items.js';
import { deadlineMsOf, maxStepsOf } from './run-limits.js';
import { beginSettling, emitFinished } from './settle.js';
import { skipWhatDoesNotRun } from './skip.js';

/** Spending reports remembered per run (see chargeOnce): far more than can arrive twice in a redelivery window. */
const CHARGED_KEYS_KEPT = 64;

export type Transition =
  | { kind: 'changed'; state: RunState; decisions: Decision[]; messages: Outgoing[] }
  /**
   * Nothing to do: a duplicate, or an event for a finished run. Carries why, for the log; `noRun` when
   * the run does not exist (yet: a cancel may overtake its run's submission); `wait` when the event can
   * be applied a little later (a resume of a run that still settles); `reject` when the request is
   * refused and the caller publishes `run.rejected` for the run (msg id key `reject.key`).
   */
  | { kind: 'unchanged'; reason: string; noRun?: true; wait?: true; reject?: Rejection };

/** A request refused: what `run.rejected` says, and the key of its msg id (distinct per refused request). */
export interface Rejection {
  reason: string;
  issues: ValidationIssue[];
  key: string;
}

/** Accumulates one transition: the next state, its decisions and the messages to publish. */
export class Builder {
  readonly state: RunState;
  readonly at: string;
  private readonly decisions: DecisionDraft[] = [];
  private readonly messages: Outgoing[] = [];
  /** The run's decision count before this transition: `done` numbers the decisions from it. */
  private readonly firstSeq: number;

  constructor(
    current: RunState,
    readonly now: Date,
    private readonly on: string,
    /** The task whose result this transition applies: it is over, whatever the state says. */
    readonly reported?: string,
  ) {
    this.state = shallowCopy(current);
    this.at = now.toISOString();
    this.firstSeq = current.decisionSeq;
  }

  /** Adds a step's usage and cost to the run's totals. */
  charge(usage: RunState['usage'], costUsd: number | undefined): void {
    this.state.usage = addUsage(this.state.usage, usage);
    if (costUsd !== undefined) this.state.costUsd = roundUsd(this.state.costUsd + costUsd);
  }

  /**
   * Adds a spending report that is not a task's result (a park, a lost delivery's `task.spent`) once:
   * says false when the report with this key was already counted.
   */
  chargeOnce(key: string, usage: RunState['usage'], costUsd: number | undefined): boolean {
    const seen = this.state.charged ?? [];
    if (seen.includes(key)) return false;
    this.state.charged = [...seen, key].slice(-CHARGED_KEYS_KEPT);
    this.charge(usage, costUsd);
    return true;
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
    if (!onItemSucceeded(this, stepId)) this.advance();
  }

  decide(action: string, stepIds: string[], reason: string): void {
    this.decisions.push({ action, stepIds, reason });
  }

  /** Queues a message for after the state is stored. */
  send(subject: string, msgId: string, payload: unknown): void {
    this.messages.push({ subject, msgId, payload });
  }

  /** Queues an entry for a task's log (a revocation), appended with compare-and-set after the state is stored. */
  append(subject: string, msgId: string, payload: unknown): void {
    this.messages.push({ subject, msgId, payload, append: true });
  }

  emit(event: RunEvent, key: string): void {
    this.messages.push({ subject: subjects.runEvent(event.runId, event.type), msgId: msgIds.event(event.runId, event.type, key), payload: event });
  }

  /** Ends the run as `timed_out` if its deadline has passed; says whether it did. */
  timedOut(): boolean {
    const s = this.state;
    if (this.now.getTime() <= Date.parse(s.deadlineAt)) return false;
    this.finish('timed_out', `run deadline of ${deadlineMsOf(s)} ms passed (guard: limits.deadlineMs)`);
    return true;
  }

  /**
   * Skips the ready steps that do not run (`when:` false, or a need skipped: see skip.ts), dispatches the
   * rest, or finishes the run when every step succeeded or was skipped; applies the run guards. Goes
   * round again when a step finished as it started (a map over an empty list).
   */
  advance(): void {
    const s = this.state;
    for (;;) {
      if (this.timedOut()) return;
      skipWhatDoesNotRun(this);
      if (s.pipeline.steps.every((st) => isDone(s.steps[st.id]?.status))) {
        this.finishAllDone();
        return;
      }
      // An end step goes first: when it ends the run, the steps ready beside it are not started only to be
      // revoked. Maps go last: each checks its items against limits.maxSteps with the rest of the batch counted.
      const ready = readySteps(s).sort((x, y) => startOrder(x) - startOrder(y));
      if (ready.length === 0) return; // waiting for steps in flight
      const tasks = ready.filter(isModelStep).length;
      if (s.dispatches + reservedDispatches(s) + tasks > maxStepsOf(s)) {
        this.finish('failed', `step limit of ${maxStepsOf(s)} reached (guard: limits.maxSteps)`);
        return;
      }
      for (const step of ready) if (!this.dispatch(step)) return;
      this.decide('dispatch', ready.map((r) => r.id), `ready: every need of ${ready.map((r) => r.id).join(', ')} succeeded`);
      if (!ready.some((r) => s.steps[r.id]?.status === 'succeeded')) return;
    }
  }

  /** Every step succeeded or was skipped: the run succeeds, with no output if its output step was skipped. */
  private finishAllDone(): void {
    const s = this.state;
    const outId = outputStepId(s.pipeline);
    const skipped = s.pipeline.steps.filter((st) => s.steps[st.id]?.status === 'skipped').map((st) => st.id);
    if (skipped.length === 0) {
      this.finish('succeeded', 'every step succeeded', [], s.steps[outId]?.output);
      return;
    }
    const out = s.steps[outId]?.status === 'succeeded' ? '' : `; the output step ${outId} was skipped, so the run has no output`;
    this.finish('succeeded', `every step succeeded or was skipped (skipped: ${skipped.join(', ')})${out}`, [], s.steps[outId]?.output);
  }

  /**
   * Dispatches a step again, as its next attempt (e.g. once a person raised the budget): an agent step
   * takes the turn it was on again, with its history. Says whether it did (a template error ends the run).
   */
  redispatch(step: Step): boolean {
    return this.dispatch(step);
  }

  /**
   * Dispatches a step as its next attempt. An agent step that has been in its loop before (dispatched
   * again after more budget, or resumed) takes the turn it was on again, with its history: its finished
   * turns made tool calls whose effects happened and paid for model calls, which starting over would repeat.
   */
  private dispatch(step: Step): boolean {
    if (!isModelStep(step)) return startFlowStep(this, step);
    const { error: _previous, ...prev } = this.state.steps[step.id] ?? { status: 'pending' as const, attempt: 0 };
    const attempt = prev.attempt + 1;
    const was = prev.agent;
    const agent = was && was.turn > 0 ? { turn: was.turn, history: was.history, ...(was.omitted ? { omitted: was.omitted } : {}), actionCounts: was.actionCounts } : { turn: 1, history: [], actionCounts: {} };
    let command;
    try {
      command = step.kind === 'agent' ? buildAgentTurn(this.state, step, attempt, agent.turn, agent.history, agent.omitted ?? 0) : buildCommand(this.state, step, attempt);
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
    this.messages.push({ subject: subjects.stepDispatch(command.pool), msgId: msgIds.command(this.state.runId, taskIdOf(command)), payload: command });
    this.emit(
      { schemaVersion: SCHEMA_VERSION, type: 'step.dispatched', runId: this.state.runId, at: this.at, stepId: step.id, attempt, model: command.call.model, pool: command.pool },
      `${step.id}:${attempt}`,
    );
    return true;
  }

  /**
   * Ends the run. Tasks still running are revoked (appended to their logs, which aborts their calls and
   * stops any later delivery from starting them); the run then settles: `run.finished` is published
   * once each of them has reported what it spent, so the finished run's `costUsd` is whole.
   */
  finish(status: RunStatus, reason: string, stepIds: string[] = [], output?: unknown): void {
    const s = this.state;
    s.status = status;
    s.reason = reason;
    s.finishedAt = this.at;
    if (output !== undefined) s.output = output;
    for (const st of Object.values(s.steps)) delete st.parkedAt;
    this.decide('finish', stepIds, `${status}: ${reason}`);
    if (!beginSettling(this)) emitFinished(this);
  }

  /** The transition so far. Safe to call again after more changes: the last call's result is the whole transition. */
  done(): Transition {
    const s = this.state;
    const decisions: Decision[] = this.decisions.map((d, i) => ({ runId: s.runId, seq: this.firstSeq + i, at: this.at, on: this.on, ...d }));
    s.decisionSeq = this.firstSeq + decisions.length;
    s.updatedAt = this.at;
    const messages = attachDecisions(s.runId, this.at, this.messages, decisions);
    return { kind: 'changed', state: s, decisions, messages };
  }
}

/** The order ready steps start in: end steps, then the rest, then maps. */
// An end step first (see advance); sub-pipelines before model steps, so the limits a child is given are
// held from the run's own calls dispatched beside it (see ownBudget); maps last.
const startOrder = (s: Step): number => (s.kind === 'end' ? 0 : s.kind === 'pipeline' ? 1 : s.kind === 'map' ? 3 : 2);

/**
 * The state the transition changes: the run and each step's record are copied; everything below them
 * (outputs, histories, the spec) is shared with `current` and must be replaced, never changed in place.
 * So an output keeps its identity through a transition, which lets the applier tell at once that it is
 * still the value a claim reference names, and a transition costs O(steps), not O(bytes of the run).
 */
function shallowCopy(current: RunState): RunState {
  const steps: RunState['steps'] = {};
  for (const [id, st] of Object.entries(current.steps)) steps[id] = { ...st };
  return { ...current, steps, ...(current.settling ? { settling: { ...current.settling, tasks: [...current.settling.tasks] } } : {}) };
}

/** Outputs of the steps that succeeded, and where each agent step got to. */
export function partialOutputs(s: RunState): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [id, st] of Object.entries(s.steps)) {
    if (itemOf(s.pipeline, id)) continue; // a map's items: counted on the map (a resume keeps their outputs)
    if (st.map && st.status !== 'succeeded') out[id] = { itemsSucceeded: succeededItems(s, id, st.map.total), of: st.map.total };
    else if (st.status === 'succeeded') out[id] = st.output;
    else if (st.agent) out[id] = { agentTurns: st.agent.turn, history: st.agent.history.slice(-6) };
  }
  return out;
}
