import { SCHEMA_VERSION, type RunEvent } from '@pipewright/contracts';
import { describe, expect, it } from 'vitest';
import { renderEvent } from '../src/render.js';

const base = { schemaVersion: SCHEMA_VERSION, runId: 'run-1', at: '2026-11-24T10:00:00.000Z' } as const;

describe('watch lines', () => {
  it('shows what a completed step cost when the budget priced it, and nothing when it ran unmetered', () => {
    const completed = { ...base, type: 'step.completed', stepId: 'draft', attempt: 1, calls: 2, usage: { inputTokens: 120, outputTokens: 40, totalTokens: 160 }, latencyMs: 812.4, model: { provider: 'default', model: 'sim-small' }, output: {}, rung: 'direct' } as const;
    expect(renderEvent({ ...completed, costUsd: 0.000042 })).toMatch(/step draft +completed +model sim-small {2}calls 2 {2}tokens 120\+40 {2}\$0\.000042 {2}812 ms {2}\(direct\)$/);
    expect(renderEvent(completed as RunEvent)).not.toContain('$');
  });

  it('says why a step parked and that the run is paused', () => {
    const parked = { ...base, type: 'step.parked', stepId: 'draft', attempt: 1, reason: 'budget service unreachable', retryAt: '2026-11-24T10:00:05.000Z' } as const;
    expect(renderEvent(parked as RunEvent)).toContain('PARKED       budget service unreachable; retrying at 10:00:05 (run paused)');
  });
});
