import { requestDigest, SCHEMA_VERSION, type RerunRequest, type RunStarted, type RunState, type StepCommand } from '@pipewright/contracts';
import { describe, expect, it } from 'vitest';
import { decide, type Transition } from '../src/index.js';
import { completed, dagRequest, failed, later, T0 } from './fixtures.js';

type Changed = Extract<Transition, { kind: 'changed' }>;
function changed(t: Transition): Changed {
  if (t.kind !== 'changed') throw new Error(`expected a change, got: ${t.reason}`);
  return t;
}
const commands = (t: Changed) => t.messages.filter((m) => m.subject.endsWith('.dispatch')).map((m) => m.payload as StepCommand);
const rerunReq = (from: { runId: string; stepId: string }, over: Partial<RerunRequest> = {}): RerunRequest => ({ schemaVersion: SCHEMA_VERSION, runId: 'run-2', from, reason: 're-run by test', ...over });
const rerunEv = (source: RunState | undefined, from: { runId: string; stepId: string }, over: Partial<RerunRequest> = {}) => ({ type: 'run.rerun' as const, runId: over.runId ?? 'run-2', request: rerunReq(from, over), source });

/** The diamond a → (b, c) → d, every step succeeded, each with a cost. */
function succeeded(): RunState {
  let s = changed(decide(undefined, { type: 'run.submitted', runId: 'run-1', request: dagRequest({ budget: { maxUsd: 2 } }) }, T0)).state;
  s = changed(decide(s, { ...completed(s, 'a', { title: 'Tides' }), costUsd: 0.1 }, later(1))).state;
  s = changed(decide(s, { ...completed(s, 'b', 'B'), costUsd: 0.1 }, later(2))).state;
  s = changed(decide(s, { ...completed(s, 'c', 'C'), costUsd: 0.1 }, later(3))).state;
  s = changed(decide(s, { ...completed(s, 'd', 'D'), costUsd: 0.1 }, later(4))).state;
  expect(s.status).toBe('succeeded');
  return s;
}

describe('re-run from a step (pw.runs.rerun)', () => {
  it('from b in the diamond: a and c keep their outputs (reused, not paid again), b and d run', () => {
    const t = changed(decide(undefined, rerunEv(succeeded(), { runId: 'run-1', stepId: 'b' }), later(100)));
    const s = t.state;
    expect(s).toMatchObject({ runId: 'run-2', status: 'running', rerunOf: { runId: 'run-1', stepId: 'b' }, input: { topic: 'tides' }, budget: { maxUsd: 2 }, costUsd: 0 });
    expect(s.requestDigest).toBe(requestDigest(rerunReq({ runId: 'run-1', stepId: 'b' })));
    expect(s.steps['a']).toMatchObject({ status: 'succeeded', reused: true, output: { title: 'Tides' }, attempt: 0 });
    expect(s.steps['c']).toMatchObject({ status: 'succeeded', reused: true, output: 'C' });
    expect(s.steps['a']?.costUsd).toBeUndefined();
    expect(s.steps['b']).toMatchObject({ status: 'dispatched', attempt: 1 });
    expect(s.steps['d']).toMatchObject({ status: 'pending' });
    expect(commands(t).map((c) => [c.runId, c.stepId, c.attempt, c.call.messages[0]?.content])).toEqual([['run-2', 'b', 1, 'Facts for Tides']]);
    const started = t.messages.find((m) => m.subject === 'pw.events.run-2.run.started')!.payload as RunStarted;
    expect(started.rerunOf).toEqual({ runId: 'run-1', stepId: 'b', reused: ['a', 'c'] });
    expect(t.decisions.map((d) => d.action)).toEqual(['start', 'reuse', 'dispatch']);
    // d then runs with c's reused output and b's new one
    const next = changed(decide(s, completed(s, 'b', 'B2'), later(101)));
    expect(commands(next).map((c) => c.call.messages[0]?.content)).toEqual(['Combine B2 and C']);
  });

  it('from the first step reuses nothing; from the last reuses every other step', () => {
    const src = succeeded();
    const first = changed(decide(undefined, rerunEv(src, { runId: 'run-1', stepId: 'a' }), later(100)));
    expect(Object.values(first.state.steps).filter((st) => st.reused)).toEqual([]);
    expect(commands(first).map((c) => c.stepId)).toEqual(['a']);
    const last = changed(decide(undefined, rerunEv(src, { runId: 'run-1', stepId: 'd' }), later(100)));
    expect(commands(last).map((c) => [c.stepId, c.call.messages[0]?.content])).toEqual([['d', 'Combine B and C']]);
    expect((last.messages.find((m) => m.subject.endsWith('run.started'))!.payload as RunStarted).rerunOf?.reused).toEqual(['a', 'b', 'c']);
  });

  it('a step that did not succeed in the source runs, wherever it is; labels and budget come from the request', () => {
    let src = changed(decide(undefined, { type: 'run.submitted', runId: 'run-1', request: dagRequest({ labels: { batch: 'n1' } }) }, T0)).state;
    src = changed(decide(src, completed(src, 'a', { title: 'T' }), later(1))).state;
    src = changed(decide(src, completed(src, 'c', 'C'), later(2))).state;
    src = changed(decide(src, failed(src, 'b'), later(3))).state;
    expect(src.status).toBe('failed');
    const t = changed(decide(undefined, rerunEv(src, { runId: 'run-1', stepId: 'c' }, { labels: { batch: 'n2' }, budget: { maxUsd: 1 } }), later(100)));
    expect(Object.entries(t.state.steps).filter(([, st]) => st.reused).map(([id]) => id)).toEqual(['a']);
    expect(commands(t).map((c) => c.stepId)).toEqual(['b', 'c']);
    expect(t.state).toMatchObject({ labels: { batch: 'n2' }, budget: { maxUsd: 1 } });
  });

  it('refuses an unknown source run, an unknown step, a source still running; waits for one that settles', () => {
    const none = decide(undefined, rerunEv(undefined, { runId: 'gone', stepId: 'b' }), later(1));
    expect(none).toMatchObject({ kind: 'unchanged', reject: { reason: 'invalid re-run request', issues: [{ path: 'from.runId', message: 'no such run gone (never submitted, or removed by retention)' }] } });
    const src = succeeded();
    const step = decide(undefined, rerunEv(src, { runId: 'run-1', stepId: 'zz' }), later(1));
    expect(step).toMatchObject({ reject: { issues: [{ path: 'from.stepId', message: 'run run-1 (pipeline dag) has no step zz; its steps: a, b, c, d' }] } });
    const running = changed(decide(undefined, { type: 'run.submitted', runId: 'run-1', request: dagRequest() }, T0)).state;
    expect(decide(undefined, rerunEv(running, { runId: 'run-1', stepId: 'b' }), later(1))).toMatchObject({ reject: { issues: [{ path: 'from.runId', message: expect.stringContaining('is running: re-run a run once it has finished') }] } });
    const fanned = changed(decide(running, completed(running, 'a', { title: 'T' }), later(1))).state;
    const settling = changed(decide(fanned, failed(fanned, 'b'), later(2))).state; // c still running: it settles
    expect(settling).toMatchObject({ status: 'failed', settling: { tasks: ['c=1'] } });
    expect(decide(undefined, rerunEv(settling, { runId: 'run-1', stepId: 'b' }), later(3))).toMatchObject({ kind: 'unchanged', wait: true });
    // distinct rejections get distinct msg id keys
    const keys = [none, step].map((t) => (t.kind === 'unchanged' ? t.reject?.key : undefined));
    expect(new Set(keys).size).toBe(2);
  });

  it('the same re-run again is the same run; another request for its run id is a conflict naming what differs', () => {
    const src = succeeded();
    const made = changed(decide(undefined, rerunEv(src, { runId: 'run-1', stepId: 'b' }), later(100))).state;
    expect(decide(made, rerunEv(src, { runId: 'run-1', stepId: 'b' }), later(101))).toEqual({ kind: 'unchanged', reason: 'run run-2 already exists (the same request again)' });
    const other = decide(made, rerunEv(src, { runId: 'run-1', stepId: 'c' }), later(101));
    expect(other).toMatchObject({ kind: 'unchanged', reject: { reason: 'conflict', issues: [{ path: 'from.stepId' }] } });
    const submit = decide(made, { type: 'run.submitted', runId: 'run-2', request: dagRequest({ runId: 'run-2' }) }, later(101));
    expect(submit).toMatchObject({ reject: { reason: 'conflict', issues: [{ path: 'runId', message: 'run run-2 exists as a re-run of run-1: choose another run id' }] } });
  });
});
