import { SCHEMA_VERSION, StepCommand } from '@pipewright/contracts';
import { describe, expect, it } from 'vitest';
import { idempotencyKeyOf } from '../src/llm/attempts.js';

const cmd = (attempt: number, turn?: number): StepCommand =>
  StepCommand.parse({
    schemaVersion: SCHEMA_VERSION,
    runId: 'r1',
    stepId: 'draft',
    attempt,
    pool: 'default',
    kind: turn === undefined ? 'llm' : 'agent-turn',
    ...(turn === undefined ? {} : { turn, tools: [] }),
    call: { model: { provider: 'default', model: 'sim-small' }, fallbacks: [], messages: [{ role: 'user', content: 'hi' }] },
    timeoutMs: 1_000,
    retry: {},
  });

describe('idempotencyKeyOf', () => {
  it('keeps <run>:<step> (and :t<turn>) for a first dispatch, as providers and tests have always seen it', () => {
    expect(idempotencyKeyOf(cmd(1))).toBe('r1:draft');
    expect(idempotencyKeyOf(cmd(1, 3))).toBe('r1:draft:t3');
  });

  it('names a later dispatch (a resumed run, a step run again) apart, so a provider cannot answer it from the failed attempt', () => {
    expect(idempotencyKeyOf(cmd(2))).toBe('r1:draft:a2');
    expect(idempotencyKeyOf(cmd(3, 4))).toBe('r1:draft:a3:t4');
    expect(new Set([1, 2, 3].map((a) => idempotencyKeyOf(cmd(a)))).size).toBe(3);
  });
});
