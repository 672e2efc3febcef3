import { claimUrl, RunEvent, type ClaimRef } from '@pipewright/contracts';
import type { BlobStore } from '@pipewright/kit';
import { describe, expect, it } from 'vitest';
import { differences } from '../src/operator/differences.js';
import { checkSubmit } from '../src/operator/submit.js';
import { approvalsOf } from '../src/reader/approvals.js';
import { OutputResolver } from '../src/reader/outputs.js';
import { traceIdOf } from '../src/reader/run-detail.js';

const AT = '2026-12-01T00:00:00.000Z';
const SHA = 'a'.repeat(64);

/** A blob store holding one value (the object store's contract, in memory: code, not a mock of a server). */
function oneBlob(runId: string, value: unknown): BlobStore {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  return {
    put: () => Promise.reject(new Error('read only')),
    get: (ref: ClaimRef) => Promise.resolve(ref.$ref === claimUrl('pw_blobs', runId, SHA) ? bytes : undefined),
    deleteRun: () => Promise.resolve(0),
  };
}

describe('the run reader (pure parts)', () => {
  it("resolves the run's own references ($result among its events, claim checks) and no other run's", async () => {
    const completed = RunEvent.parse({ schemaVersion: 1, type: 'step.completed', runId: 'r1', stepId: 'a', attempt: 1, calls: 1, usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 }, latencyMs: 1, at: AT, model: { provider: 'default', model: 'm' }, output: { big: 'value' } });
    const res = new OutputResolver('r1', [{ seq: 42, event: completed }], oneBlob('r1', { from: 'blob' }));
    expect(await res.resolve({ $result: { runId: 'r1', seq: 42, bytes: 10 } })).toEqual({ big: 'value' });
    expect(await res.resolve({ $result: { runId: 'r1', seq: 43, bytes: 10 } })).toEqual({ $unavailable: expect.stringContaining('43') });
    expect(await res.resolve({ $result: { runId: 'other', seq: 42, bytes: 10 } })).toEqual({ $result: { runId: 'other', seq: 42, bytes: 10 } });
    const mine = { $ref: claimUrl('pw_blobs', 'r1', SHA), bytes: 17, sha256: SHA };
    expect(await res.resolve(mine)).toEqual({ from: 'blob' });
    const theirs = { $ref: claimUrl('pw_blobs', 'other', SHA), bytes: 17, sha256: SHA };
    expect(await res.resolve(theirs)).toEqual(theirs);
    expect(await res.resolve({ $ref: claimUrl('pw_blobs', 'r1', 'b'.repeat(64)), bytes: 1, sha256: 'b'.repeat(64) })).toEqual({ $unavailable: expect.any(String) });
    expect(await res.resolve('plain')).toBe('plain');
  });

  it('follows approvals through request, escalation and decision', () => {
    const ev = (e: Record<string, unknown>) => RunEvent.parse({ schemaVersion: 1, runId: 'r1', at: AT, ...e });
    const asked = (id: string) => ev({ type: 'approval.requested', approvalId: id, stepId: 'pay', action: { kind: 'step', arguments: 1 }, reason: 'policy', onTimeout: 'reject' });
    const views = approvalsOf([
      asked('a1'),
      asked('a2'),
      asked('a3'),
      ev({ type: 'approval.escalated', approvalId: 'a2', stepId: 'pay', to: 'boss', deadlineAt: AT }),
      ev({ type: 'approval.decided', approvalId: 'a1', stepId: 'pay', decision: 'approved', by: 'alice', via: 'api', reason: 'fine' }),
      ev({ type: 'approval.decided', approvalId: 'a3', stepId: 'pay', decision: 'rejected', by: 'timeout', via: 'timeout' }),
    ]);
    expect(views.map((v) => [v.approvalId, v.status, v.decidedBy, v.comment])).toEqual([
      ['a1', 'approved', 'alice', 'fine'],
      ['a2', 'escalated', undefined, undefined],
      ['a3', 'timed_out', 'timeout', undefined],
    ]);
  });

  it('takes the trace id from a W3C traceparent only', () => {
    expect(traceIdOf(`00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`)).toBe('1'.repeat(32));
    expect(traceIdOf('garbage')).toBeUndefined();
    expect(traceIdOf(undefined)).toBeUndefined();
  });
});

describe('submit checks', () => {
  const pipeline = { name: 'p', defaults: { model: 'm' }, input: { type: 'object', properties: { topic: { type: 'string' } }, required: ['topic'] }, steps: [{ id: 'a', prompt: '{{input.topic}}' }] };

  it('validates like the planner, names fields by path, and digests the canonical request (key order and defaults do not matter)', () => {
    const a = checkSubmit({ pipeline, input: { topic: 'x' } });
    const b = checkSubmit({ input: { topic: 'x' }, tenant: 'default', pipeline: { steps: pipeline.steps, input: pipeline.input, defaults: pipeline.defaults, name: 'p' } });
    if (!a.ok || !b.ok) throw new Error('valid requests refused');
    expect(a.digest).toBe(b.digest);
    expect(a.explicitRunId).toBe(false);
    const c = checkSubmit({ pipeline, input: { topic: 'y' } });
    expect(c.ok && c.digest).not.toBe(a.digest);
    const bad = checkSubmit({ pipeline, input: {} });
    expect(bad.ok ? [] : bad.issues.map((i) => i.path)).toEqual(['input.topic']);
    const wrongVersion = checkSubmit({ schemaVersion: 2, pipeline, input: { topic: 'x' } });
    expect(wrongVersion.ok ? [] : wrongVersion.issues.map((i) => i.path)).toEqual(['schemaVersion']);
    expect(checkSubmit([]).ok).toBe(false);
  });

  it('names where two requests differ', () => {
    expect(differences({ input: { topic: 'a', n: 1 }, labels: { x: '1' } }, { input: { topic: 'b', n: 1 }, labels: {} })).toEqual(['input.topic', 'labels.x']);
    expect(differences({ pipeline: { steps: [{ prompt: 'a' }, { prompt: 'b' }] } }, { pipeline: { steps: [{ prompt: 'a' }, { prompt: 'c' }] } })).toEqual(['pipeline.steps[1].prompt']);
    expect(differences({ a: [1, 2] }, { a: [1] })).toEqual(['a']);
    expect(differences({ a: 1 }, { a: 1 })).toEqual([]);
    expect(differences(Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, i])), {})).toHaveLength(50);
  });
});
