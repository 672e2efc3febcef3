import { msgIds, requestDigest, RunRequest, SCHEMA_VERSION, type RunState } from '@pipewright/contracts';
import { describe, expect, it } from 'vitest';
import { decide, type Transition } from '../src/index.js';
import { dagRequest, later, T0 } from './fixtures.js';

function changed(t: Transition): Extract<Transition, { kind: 'changed' }> {
  if (t.kind !== 'changed') throw new Error(`expected a change, got: ${t.reason}`);
  return t;
}
const submitted = (request: RunRequest) => ({ type: 'run.submitted' as const, runId: 'run-1', request });

function started(): RunState {
  return changed(decide(undefined, submitted(dagRequest()), T0)).state;
}

describe('requestDigest', () => {
  it('is the same for the same request written in another key order or with its defaults spelled out, and differs for another one', () => {
    const a = dagRequest();
    const reordered = RunRequest.parse(JSON.parse(JSON.stringify({ input: a.input, tenant: 'default', pipeline: a.pipeline, runId: 'run-1', schemaVersion: SCHEMA_VERSION })));
    expect(requestDigest(reordered)).toBe(requestDigest(a));
    expect(requestDigest({ ...a, runId: 'another-id' })).toBe(requestDigest(a)); // the run id is not part of it
    expect(requestDigest(dagRequest({ input: { topic: 'waves' } }))).not.toBe(requestDigest(a));
    expect(requestDigest(a)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('goes into the submit msg id, so that only the same request is a JetStream duplicate', () => {
    const a = dagRequest();
    expect(msgIds.submit('run-1', requestDigest(a))).toBe(`submit:run-1:${requestDigest(a).slice(0, 16)}`);
    expect(msgIds.submit('run-1', requestDigest(dagRequest({ input: { topic: 'waves' } })))).not.toBe(msgIds.submit('run-1', requestDigest(a)));
    expect(msgIds.submit('run-1')).toBe('submit:run-1');
  });
});

describe('a resubmitted run id', () => {
  it('stores the digest of the request that created the run', () => {
    expect(started().requestDigest).toBe(requestDigest(dagRequest()));
  });

  it('with the same request is the same run: nothing changes and nothing is refused', () => {
    expect(decide(started(), submitted(dagRequest()), later(1))).toEqual({ kind: 'unchanged', reason: 'run run-1 already exists (the same request again)' });
  });

  it('with another input is refused as a conflict naming the fields that differ, under a msg id key of its own', () => {
    const s = started();
    const waves = dagRequest({ input: { topic: 'waves' } });
    const t = decide(s, submitted(waves), later(1));
    expect(t).toEqual({
      kind: 'unchanged',
      reason: 'run run-1 already exists with another request: input.topic',
      reject: { reason: 'conflict', issues: [{ path: 'input.topic', message: 'differs from the request that created run run-1' }], key: `conflict:${requestDigest(waves).slice(0, 16)}` },
    });
    // another different request: another key, so JetStream does not drop its rejection as a duplicate
    const other = decide(s, submitted(dagRequest({ input: { topic: 'reefs' } })), later(2));
    expect(other.kind === 'unchanged' && other.reject?.key).not.toBe(t.kind === 'unchanged' && t.reject?.key);
  });

  it('names a changed prompt, label or tenant by its path; a different budget alone is named too', () => {
    const base = dagRequest();
    const steps = base.pipeline.steps.map((st) => (st.id === 'b' ? { ...st, prompt: 'Other facts' } : st));
    const t = decide(started(), submitted(dagRequest({ pipeline: { ...base.pipeline, steps }, labels: { batch: 'x' }, tenant: 'acme' })), later(1));
    expect(t.kind === 'unchanged' ? t.reject?.issues.map((i) => i.path) : []).toEqual(['pipeline.steps[1].prompt', 'tenant', 'labels.batch']);
    const budget = decide(started(), submitted(dagRequest({ budget: { maxUsd: 3 } })), later(1));
    expect(budget.kind === 'unchanged' ? budget.reject?.issues.map((i) => i.path) : []).toEqual(['budget']);
  });

  it('a run stored before digests were kept takes any resubmission as the same run, as before', () => {
    const { requestDigest: _d, ...legacy } = started();
    expect(decide(legacy, submitted(dagRequest({ input: { topic: 'waves' } })), later(1))).toMatchObject({ kind: 'unchanged', reason: expect.stringContaining('the same request again') });
  });
});
