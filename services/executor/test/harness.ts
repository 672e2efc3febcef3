import { StepCommand, type RetryPolicyInput } from '@pipewright/contracts';
import { startSimulator, type SimConfig, type SimulatorHandle } from '@pipewright/llm-sim';
import { createStepRunner, type StepRunner } from '../src/index.js';

/**
 * The executor's call path in-process against the real simulator over HTTP with the real `openai`
 * client: providers `default` and `b` (both the simulator), the process's breakers and metrics.
 */
export interface Harness extends StepRunner {
  sim: SimulatorHandle;
  stop(): Promise<void>;
}

export async function startHarness(env: Record<string, string> = {}, sim: SimConfig = {}): Promise<Harness> {
  const s = await startSimulator({ config: sim });
  const runner = createStepRunner({ env: { OPENAI_BASE_URL: s.url, PW_PROVIDERS: JSON.stringify({ b: { baseURL: s.url } }), ...env } });
  return {
    ...runner,
    sim: s,
    stop: async () => {
      runner.close();
      await s.close();
    },
  };
}

export const OBJECT_SCHEMA = { type: 'object', properties: { title: { type: 'string' }, score: { type: 'integer', minimum: 1, maximum: 10 } }, required: ['title', 'score'] };

let seq = 0;
/** A step command as the planner would send it; each call gets a fresh run id (its own sim key). */
export function command(o: { model?: string; fallbacks?: { provider?: string; model: string }[]; schema?: Record<string, unknown> | null; retry?: RetryPolicyInput; timeoutMs?: number; deadlineAt?: string; prompt?: string } = {}): StepCommand {
  return StepCommand.parse({
    schemaVersion: 1,
    runId: `run-${process.pid}-${++seq}`,
    stepId: 'step',
    attempt: 1,
    pool: 'default',
    kind: 'llm',
    call: {
      model: { provider: 'default', model: o.model ?? 'sim-a' },
      fallbacks: o.fallbacks ?? [],
      messages: [{ role: 'user', content: o.prompt ?? 'Rate this idea' }],
      ...(o.schema === null ? {} : { responseSchema: o.schema ?? OBJECT_SCHEMA }),
    },
    timeoutMs: o.timeoutMs ?? 2_000,
    retry: { maxAttempts: 3, initialIntervalMs: 20, backoffCoefficient: 2, maxIntervalMs: 100, deadlineMs: 10_000, ...o.retry },
    ...(o.deadlineAt ? { deadlineAt: o.deadlineAt } : {}),
  });
}

export const keyOf = (cmd: StepCommand) => `${cmd.runId}:${cmd.stepId}`;
