import { RunRequest, SCHEMA_VERSION, type RunState, type StepCompleted, type StepFailed } from '@pipewright/contracts';
import type { RunRequestInput } from '@pipewright/contracts';

export const T0 = new Date('2026-11-24T10:00:00.000Z');
export const later = (ms: number) => new Date(T0.getTime() + ms);

/** A 3-step DAG: outline → (facts, tone) → ... here: a → b, a → c, (b, c) → d. */
export function dagRequest(overrides: Partial<RunRequestInput> = {}): RunRequest {
  return RunRequest.parse({
    schemaVersion: SCHEMA_VERSION,
    runId: 'run-1',
    input: { topic: 'tides' },
    pipeline: {
      name: 'dag',
      defaults: { model: 'sim-small' },
      input: { type: 'object', properties: { topic: { type: 'string' } }, required: ['topic'] },
      steps: [
        { id: 'a', prompt: 'Outline {{input.topic}}', output: { type: 'object', properties: { title: { type: 'string' } }, required: ['title'] } },
        { id: 'b', needs: ['a'], prompt: 'Facts for {{steps.a.output.title}}' },
        { id: 'c', needs: ['a'], prompt: 'Tone for {{steps.a.output}}' },
        { id: 'd', needs: ['b', 'c'], prompt: 'Combine {{steps.b.output}} and {{steps.c.output}}' },
      ],
    },
    ...overrides,
  });
}

export function completed(state: RunState, stepId: string, output: unknown, attempt = 1): StepCompleted {
  return {
    schemaVersion: SCHEMA_VERSION,
    type: 'step.completed',
    runId: state.runId,
    stepId,
    attempt,
    calls: 1,
    usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 },
    latencyMs: 3,
    at: T0.toISOString(),
    model: { provider: 'default', model: 'sim-small' },
    output,
    rung: 'direct',
  };
}

export function failed(state: RunState, stepId: string): StepFailed {
  return {
    schemaVersion: SCHEMA_VERSION,
    type: 'step.failed',
    runId: state.runId,
    stepId,
    attempt: 1,
    calls: 3,
    usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
    latencyMs: 30,
    at: T0.toISOString(),
    error: { code: 'provider_5xx', message: 'upstream 503', retryable: true },
  };
}
