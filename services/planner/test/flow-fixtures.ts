import { RunRequest, SCHEMA_VERSION, type RunState, type StepCommand } from '@pipewright/contracts';
import { expect } from 'vitest';
import { decide, type Transition } from '../src/index.js';
import { T0 } from './fixtures.js';

export type Changed = Extract<Transition, { kind: 'changed' }>;

export function changed(t: Transition): Changed {
  if (t.kind !== 'changed') throw new Error(`expected a change, got: ${t.reason}`);
  return t;
}

export const commands = (t: Changed): StepCommand[] => t.messages.filter((m) => m.subject.startsWith('pw.steps.')).map((m) => m.payload as StepCommand);

/** A request of the given steps over input `{ lines }`. */
export function flowRequest(steps: unknown[], input: Record<string, unknown>, pipeline: Record<string, unknown> = {}): RunRequest {
  return RunRequest.parse({
    schemaVersion: SCHEMA_VERSION,
    runId: 'run-1',
    input,
    pipeline: { name: 'flow', defaults: { model: 'sim-small' }, steps, ...pipeline },
  });
}

export function submit(request: RunRequest): Changed {
  return changed(decide(undefined, { type: 'run.submitted', runId: request.runId, request }, T0));
}

/** Reports every task the ended run waits for as revoked before it started, so the run settles. */
export function settled(s: RunState, at: Date): RunState {
  for (const task of s.settling?.tasks ?? []) {
    const [stepId, attempt] = task.split('=') as [string, string];
    s = changed(decide(s, { schemaVersion: SCHEMA_VERSION, type: 'step.revoked', runId: s.runId, stepId, attempt: Number(attempt), task: 'llm', reason: 'ended', inFlight: false, at: at.toISOString() }, at)).state;
  }
  expect(s.settling).toBeUndefined();
  return s;
}

/** Steps (and items) in flight: dispatched, with a task. */
export const inFlight = (s: RunState): string[] => Object.entries(s.steps).filter(([, st]) => st.status === 'dispatched' && !st.map).map(([id]) => id);
