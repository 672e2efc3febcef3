import type { LoggedEntry, TaskLogEntry } from '@pipewright/kit';
import { describe, expect, it } from 'vitest';
import { afterAsk, deliverySeq, leaseStep, type Claimant } from '../src/ownership/lease-step.js';

/** What a delivery does about a task's log: pure, so every case is a table row. */
describe('leaseStep', () => {
  const me: Claimant = { owner: 'default-a-1', delivery: 's7d2' };
  const base = { schemaVersion: 1 as const, runId: 'r', stepId: 's', attempt: 1, task: 'llm' as const, at: '2026-12-05T00:00:00.000Z' };
  const at = (seq: number, entry: TaskLogEntry): LoggedEntry => ({ seq, entry });
  const started = (owner: string, delivery: string): TaskLogEntry => ({ ...base, type: 'step.started', owner, delivery });
  const result = { ...base, type: 'step.completed' as const, calls: 1, usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 }, latencyMs: 1, model: { provider: 'p', model: 'm' }, output: 'x', rung: 'direct' as const };

  it.each<[string, LoggedEntry | undefined, ReturnType<typeof leaseStep>]>([
    ['an empty log is taken', undefined, { kind: 'take', expectSeq: 0 }],
    ['a parked task is taken after the park', at(5, { ...base, type: 'step.parked', reason: 'down', retryAt: base.at }), { kind: 'take', expectSeq: 5 }],
    ['a result ends it', at(9, result), { kind: 'done', why: 'the task already has its result (step.completed)' }],
    ['a revocation with nothing running ends it', at(9, { ...base, type: 'step.revoked', reason: 'cancelled', inFlight: false }), { kind: 'done', why: 'the task was revoked: cancelled' }],
    ['a revocation of a running task is closed by whoever finds it', at(9, { ...base, type: 'step.revoked', reason: 'cancelled', inFlight: true, owner: 'x' }), { kind: 'close', expectSeq: 9, why: 'revoked while held by x: cancelled' }],
    ['this delivery’s own lease (a retried append that landed)', at(3, started('default-a-1', 's7d2')), { kind: 'mine', seq: 3 }],
    ['another owner’s lease on the same message: ask it', at(3, started('default-b-2', 's7d1')), { kind: 'ask', owner: 'default-b-2', seq: 3, sameMessage: true }],
    ['another owner’s lease through another message: ask it', at(3, started('default-b-2', 's4d1')), { kind: 'ask', owner: 'default-b-2', seq: 3, sameMessage: false }],
    ['this process on an earlier delivery: ask itself (it may have let go)', at(3, started('default-a-1', 's7d1')), { kind: 'ask', owner: 'default-a-1', seq: 3, sameMessage: true }],
    // a server that lost its consumer state sends a message again with the same sequence and count
    ['this process, a copy with the same sequence and count: not its own lease, ask itself', at(3, started('default-a-1', 's7d2-0a0b0c0d')), { kind: 'ask', owner: 'default-a-1', seq: 3, sameMessage: true }],
  ])('%s', (_name, last, want) => {
    expect(leaseStep(last, me)).toEqual(want);
  });

  it('reads the stream sequence of a delivery', () => {
    expect(deliverySeq('s123d4')).toBe(123);
    expect(deliverySeq('s123d4-0a1b2c3d')).toBe(123);
    expect(deliverySeq('nonsense')).toBeUndefined();
  });
});

describe('afterAsk: a lease is taken over only from an owner that is gone', () => {
  const same = { kind: 'ask' as const, owner: 'o', seq: 3, sameMessage: true };
  const other = { ...same, sameMessage: false };
  it.each<[string, Parameters<typeof afterAsk>[0], Parameters<typeof afterAsk>[1], ReturnType<typeof afterAsk>['kind']]>([
    ['gone (no responders): take over', same, 'gone', 'take'],
    ['alive but no longer holding it: take over', same, 'not-holding', 'take'],
    ['holding, same message (AckWait passed on a slow owner): wait', same, 'holding', 'wait'],
    ['no answer in time (slow, not dead): wait', same, 'unresponsive', 'wait'],
    ['holding, another message (a replay): drop this copy', other, 'holding', 'drop'],
    ['no answer in time, another message: drop this copy', other, 'unresponsive', 'drop'],
    ['gone, another message: take over with this one', other, 'gone', 'take'],
  ])('%s', (_name, step, answer, kind) => {
    const next = afterAsk(step, answer);
    expect(next.kind).toBe(kind);
    if (next.kind === 'take') expect(next).toMatchObject({ expectSeq: 3, takeover: { from: 'o' } });
  });
});
