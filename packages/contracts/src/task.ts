import { z } from 'zod';
import { ModelTarget, RunId, SchemaVersion, StepId, Timestamp, Usage } from './common.js';

/**
 * A task is the unit of ownership, checkpoint and budget: one dispatch of an `llm` step, one model turn
 * of an agent step, or one tool call of an agent turn. Each task has a log on the bus (its subjects
 * `pw.events.<runId>.step.<kind>.<task>`, see `subjects.taskLog`): an executor's lease (`step.started`),
 * then one final result (`step.completed` / `step.failed`), with `step.parked` (the lease handed back
 * during an outage) and `step.revoked` (the run ended) in between. Every entry is appended with a
 * compare-and-set on the last sequence of that log, so exactly one lease is live at a time and exactly
 * one final result is ever written: the result message is the step's checkpoint.
 */

/** What a task runs. */
export const TaskKind = z.enum(['llm', 'agent-turn', 'tool']);
export type TaskKind = z.infer<typeof TaskKind>;

export interface TaskRef {
  stepId: string;
  /** The step's dispatch number (a step dispatched again after more budget was granted is a new task). */
  attempt: number;
  /** Agent turns and their tool calls: the turn. */
  turn?: number | undefined;
  /** A tool call of the turn (rather than the turn's model call). */
  tool?: boolean | undefined;
}

/**
 * The task's token in subjects and keys: `<stepId>=<attempt>`, `=t<turn>` for an agent turn, `=tool`
 * for its tool call. `=` is outside the step-id alphabet, so tokens of different tasks never collide;
 * the token is one subject token (no `.`, `*`, `>`).
 */
export function taskId(t: TaskRef): string {
  return `${t.stepId}=${t.attempt}${t.turn !== undefined ? `=t${t.turn}` : ''}${t.tool ? '=tool' : ''}`;
}

/** The task of a command or of a task-log entry. */
export function taskIdOf(m: { stepId: string; attempt: number; kind?: TaskKind | 'agent-turn' | 'llm'; task?: TaskKind | undefined; turn?: number | undefined }): string {
  const kind = m.kind ?? m.task ?? (m.turn !== undefined ? 'agent-turn' : 'llm');
  return taskId({ stepId: m.stepId, attempt: m.attempt, turn: kind === 'llm' ? undefined : m.turn, tool: kind === 'tool' });
}

/** Accepts exactly what `taskId` writes. */
export const TaskId = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}=[1-9][0-9]{0,5}(=t[1-9][0-9]{0,5})?(=tool)?$/, 'a task id is <stepId>=<attempt>[=t<turn>][=tool]');

/**
 * One model call's spending, as the executor reports it with the task's result: the budget service
 * books it (commit, or release when nothing was used) from this durable record, idempotently per
 * reservation. `costUsd` is the usage priced at the rate the reservation was granted with.
 */
export const Spend = z
  .strictObject({
    reservationId: z.string().min(1).max(200),
    model: ModelTarget,
    /** What the provider reported; all zero when no answer came (the reservation is released). */
    usage: Usage,
    costUsd: z.number().nonnegative().optional(),
  });
// Strict like every message: its carrier (a task event) is strict too, so a looser Spend would buy no
// tolerance of a newer executor; schemaVersion is what evolves a message.
export type Spend = z.infer<typeof Spend>;

const TaskBase = {
  schemaVersion: SchemaVersion,
  runId: RunId,
  stepId: StepId,
  attempt: z.number().int().min(1),
  task: TaskKind,
  turn: z.number().int().min(1).optional(),
  at: Timestamp,
};

/**
 * An executor's lease on a task: it runs the task until it appends the result. The lease is live while
 * its owner is (the owner answers `pw.executors.<owner>.ping`); a delivery that finds a live lease of
 * another owner waits, and takes over only once the owner is gone.
 */
export const StepStarted = z
  .strictObject({
    ...TaskBase,
    type: z.literal('step.started'),
    /** The executor process holding the lease. */
    owner: z.string().min(1).max(128),
    /** The command's delivery this lease belongs to (`s<stream seq>d<delivery count>-<random>`: unique per delivery). */
    delivery: z.string().max(64),
    /** Set when this lease replaced another owner's: who, and why it was taken over. */
    takeover: z.strictObject({ from: z.string(), why: z.string() }).optional(),
  })
  .strict();
export type StepStarted = z.infer<typeof StepStarted>;

/**
 * The planner's word that a task of an ended run must stop (cancel, failure, timeout). Appended to the
 * task's log, so no lease can be taken after it; `inFlight` says whether a lease was live when it was
 * written (its owner then appends the final result with what was spent; otherwise nothing will).
 */
export const StepRevoked = z
  .strictObject({
    ...TaskBase,
    type: z.literal('step.revoked'),
    reason: z.string().max(2000),
    inFlight: z.boolean(),
    /** The owner whose lease was live. */
    owner: z.string().optional(),
  })
  .strict();
export type StepRevoked = z.infer<typeof StepRevoked>;

/**
 * Spending by a delivery that lost its task (its lease was taken over while it was working, so it may
 * not append a result): published outside the task's log (`pw.events.<runId>.task.spent.<task>`), so
 * the budget still books what it cost.
 */
export const TaskSpent = z
  .strictObject({
    ...TaskBase,
    type: z.literal('task.spent'),
    owner: z.string(),
    spend: z.array(Spend).max(1_000),
  })
  .strict();
export type TaskSpent = z.infer<typeof TaskSpent>;
