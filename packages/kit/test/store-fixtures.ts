import { randomBytes } from 'node:crypto';
import { PipelineSpec, SCHEMA_VERSION, type Decision, type RunState, type RunStatus, type StepCompleted } from '@pipewright/contracts';

/** A run id no other test uses: the suites share one store per file. */
export const uid = (prefix = 'r') => `${prefix}-${randomBytes(6).toString('hex')}`;

export const iso = (d: string | number | Date) => new Date(d).toISOString();

export interface RunOptions {
  runId?: string;
  status?: RunStatus;
  pipeline?: string;
  tenant?: string;
  createdAt?: string;
  finishedAt?: string;
  input?: Record<string, unknown>;
}

/** A valid run state as the planner writes it (a two-step pipeline, nothing dispatched yet). */
export function runState(o: RunOptions = {}): RunState {
  const createdAt = o.createdAt ?? iso('2026-11-24T10:00:00Z');
  return {
    runId: o.runId ?? uid(),
    status: o.status ?? 'running',
    pipeline: PipelineSpec.parse({
      name: o.pipeline ?? 'conformance',
      defaults: { model: 'sim-small' },
      steps: [
        { id: 'a', prompt: 'first' },
        { id: 'b', needs: ['a'], prompt: 'then {{steps.a.output}}' },
      ],
    }),
    input: o.input ?? { topic: 'tides' },
    tenant: o.tenant ?? 'acme',
    steps: { a: { status: 'pending', attempt: 0 }, b: { status: 'pending', attempt: 0 } },
    outbox: [],
    dispatches: 0,
    decisionSeq: 0,
    usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
    costUsd: 0,
    budget: {},
    createdAt,
    updatedAt: o.finishedAt ?? createdAt,
    deadlineAt: iso(Date.parse(createdAt) + 3_600_000),
    ...(o.finishedAt ? { finishedAt: o.finishedAt } : {}),
  };
}

/** A step completion as the executor checkpoints it. */
export function stepDone(runId: string, stepId: string, output: unknown, at = iso('2026-11-24T10:00:01Z')): StepCompleted {
  return {
    schemaVersion: SCHEMA_VERSION,
    type: 'step.completed',
    runId,
    stepId,
    attempt: 1,
    calls: 1,
    usage: { inputTokens: 12, outputTokens: 7, totalTokens: 19 },
    costUsd: 0.0001,
    latencyMs: 4.2,
    at,
    model: { provider: 'default', model: 'sim-small' },
    output,
    rung: 'direct',
  };
}

export function decision(runId: string, seq: number, reason = `decision ${seq}`): Decision {
  return { runId, seq, at: iso(Date.parse('2026-11-24T10:00:00Z') + seq), on: 'step.completed', action: 'dispatch', stepIds: ['b'], reason };
}

/** A run that finished at `finishedAt` with the given status. */
export function finishedRun(finishedAt: string, o: RunOptions = {}): RunState {
  return runState({ status: 'succeeded', createdAt: iso(Date.parse(finishedAt) - 60_000), finishedAt, ...o });
}
