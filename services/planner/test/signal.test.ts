import { RunRequest, SCHEMA_VERSION, type RunDeadlineTimer, type RunState, type SignalRequestInput, SignalRequest, type StepCommand } from '@pipewright/contracts';
import { describe, expect, it } from 'vitest';
import { decide, type Transition } from '../src/index.js';
import { completed, later, T0 } from './fixtures.js';

function changed(t: Transition): Extract<Transition, { kind: 'changed' }> {
  if (t.kind !== 'changed') throw new Error(`expected a change, got: ${t.reason}`);
  return t;
}
const commands = (t: Extract<Transition, { kind: 'changed' }>) => t.messages.filter((m) => m.subject.startsWith('pw.steps.')).map((m) => m.payload as StepCommand);

/** draft (llm) → approve (signal `approval`, an object with `ok`) → publish (llm, uses the payload). */
function request(signal: Record<string, unknown> = {}): RunRequest {
  return RunRequest.parse({
    schemaVersion: SCHEMA_VERSION,
    runId: 'run-s',
    pipeline: {
      name: 'signals',
      defaults: { model: 'sim-small' },
      steps: [
        { id: 'draft', prompt: 'Draft' },
        { id: 'approve', kind: 'signal', needs: ['draft'], signal: 'approval', output: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] }, ...signal },
        { id: 'publish', needs: ['approve'], prompt: 'Publish {{steps.draft.output}} ok={{steps.approve.output.ok}}' },
      ],
    },
  });
}

const start = (signal?: Record<string, unknown>) => changed(decide(undefined, { type: 'run.submitted', runId: 'run-s', request: request(signal) }, T0)).state;
const waiting = (signal?: Record<string, unknown>) => {
  const s0 = start(signal);
  return changed(decide(s0, completed(s0, 'draft', 'the draft'), later(10)));
};
const sig = (input: Partial<SignalRequestInput> = {}) => ({
  type: 'run.signal' as const,
  runId: 'run-s',
  request: SignalRequest.parse({ schemaVersion: SCHEMA_VERSION, runId: 'run-s', name: 'approval', payload: { ok: true }, by: 'ops@example.com', signalId: 'sig-1', ...input }),
});
const timerOf = (t: Extract<Transition, { kind: 'changed' }>) => t.messages.find((m) => m.subject === 'pw.runs.deadline' && (m.payload as RunDeadlineTimer).step);

describe('signal steps', () => {
  it('waits for its signal (no task, no executor), then succeeds with the payload and the run goes on; the decision names who sent it', () => {
    const w = waiting();
    const st = w.state.steps.approve!;
    expect(st.status).toBe('dispatched');
    expect(st.signal).toEqual({ name: 'approval', since: later(10).toISOString() });
    expect(commands(w).map((c) => c.stepId)).toEqual([]);
    expect(timerOf(w)).toBeUndefined(); // no timeoutMs: the run's deadline bounds the wait
    expect(w.decisions.map((d) => d.action)).toContain('wait-signal');

    const got = changed(decide(w.state, sig(), later(20)));
    expect(got.state.steps.approve).toMatchObject({ status: 'succeeded', output: { ok: true } });
    expect(got.state.steps.approve!.signal).toBeUndefined();
    expect(got.decisions.find((d) => d.action === 'complete-step')?.reason).toBe('step approve received signal approval (sig-1) from ops@example.com');
    expect(commands(got)[0]).toMatchObject({ stepId: 'publish', call: { messages: [{ role: 'user', content: 'Publish the draft ok=true' }] } });
  });

  it('keeps a signal sent before the step waits (latest per name) and the step takes it at once when reached', () => {
    const s0 = start();
    const kept = changed(decide(s0, sig({ payload: { ok: false }, signalId: 'early-1' }), later(1)));
    expect(kept.state.signals?.approval).toMatchObject({ payload: { ok: false }, by: 'ops@example.com' });
    expect(kept.decisions.map((d) => d.action)).toEqual(['keep-signal']);
    const replaced = changed(decide(kept.state, sig({ payload: { ok: true }, signalId: 'early-2' }), later(2)));
    expect(replaced.state.signals?.approval?.payload).toEqual({ ok: true });
    expect(replaced.decisions[0]!.reason).toContain('replaces the one kept before');

    const t = changed(decide(replaced.state, completed(replaced.state, 'draft', 'the draft'), later(3)));
    expect(t.state.steps.approve).toMatchObject({ status: 'succeeded', output: { ok: true } });
    expect(t.state.signals).toEqual({});
    expect(t.decisions.map((d) => d.action)).toEqual(['complete-step', 'take-signal', 'dispatch', 'dispatch']);
    // the step after it starts in the same transition
    expect(commands(t).map((c) => c.stepId)).toEqual(['publish']);
    expect(t.state.steps.publish!.status).toBe('dispatched');
  });

  it('refuses a payload that does not match the output schema, naming the issue; the step waits on and a valid one is taken', () => {
    const w = waiting();
    const bad = changed(decide(w.state, sig({ payload: { ok: 'yes' }, signalId: 'bad-1' }), later(20)));
    expect(bad.state.steps.approve!.status).toBe('dispatched');
    expect(bad.decisions).toHaveLength(1);
    expect(bad.decisions[0]).toMatchObject({ action: 'refuse-signal', stepIds: ['approve'] });
    expect(bad.decisions[0]!.reason).toMatch(/payload\/ok|payload\.ok/);
    const good = changed(decide(bad.state, sig({ signalId: 'good-1' }), later(30)));
    expect(good.state.steps.approve!.status).toBe('succeeded');
  });

  it('drops a kept signal whose payload the step refuses when it is reached, and waits', () => {
    const s0 = start();
    const kept = changed(decide(s0, sig({ payload: 'not an object', signalId: 'e1' }), later(1)));
    const t = changed(decide(kept.state, completed(kept.state, 'draft', 'd'), later(2)));
    expect(t.state.steps.approve!.status).toBe('dispatched');
    expect(t.state.signals).toEqual({});
    expect(t.decisions.map((d) => d.action)).toContain('refuse-signal');
  });

  it('refuses an oversized or too deeply nested payload, a name no step waits for, and the 33rd kept name', () => {
    const w = waiting();
    const big = changed(decide(w.state, sig({ payload: { ok: true, pad: 'x'.repeat(70_000) }, signalId: 'big' }), later(20)));
    expect(big.state.steps.approve!.status).toBe('dispatched');
    expect(big.decisions[0]!.action).toBe('refuse-signal');
    expect(big.decisions[0]!.reason).toMatch(/payload is \d+ bytes of JSON, more than the 65536/);
    let deep: unknown = { ok: true };
    for (let i = 0; i < 100; i++) deep = [deep];
    const nested = changed(decide(w.state, sig({ payload: deep, signalId: 'deep' }), later(20)));
    expect(nested.decisions[0]!.reason).toContain('its payload nests deeper than 64 levels');
    expect(nested.state.steps.approve!.status).toBe('dispatched');
    const other = changed(decide(w.state, sig({ name: 'nobody', signalId: 'n1' }), later(20)));
    expect(other.decisions[0]!.reason).toContain('no signal step of pipeline signals waits for "nobody"');
    expect(other.state.signals).toBeUndefined();

    // 32 names kept at most: a pipeline with 33 signal steps that all wait behind an llm step
    const steps = [{ id: 'first', prompt: 'x' }, ...Array.from({ length: 33 }, (_, i) => ({ id: `s${i}`, kind: 'signal', needs: ['first'] }))];
    const req = RunRequest.parse({ schemaVersion: SCHEMA_VERSION, runId: 'run-s', pipeline: { name: 'many', defaults: { model: 'sim-small' }, steps } });
    let s: RunState = changed(decide(undefined, { type: 'run.submitted', runId: 'run-s', request: req }, T0)).state;
    for (let i = 0; i < 32; i++) s = changed(decide(s, sig({ name: `s${i}`, signalId: `k${i}` }), later(i + 1))).state;
    expect(Object.keys(s.signals ?? {})).toHaveLength(32);
    const full = changed(decide(s, sig({ name: 's32', signalId: 'k32' }), later(100)));
    expect(full.decisions[0]!.reason).toContain('already keeps 32 signals');
    expect(full.state.signals?.s32).toBeUndefined();
  });

  it('applies the same signalId once', () => {
    const w = waiting();
    const first = changed(decide(w.state, sig({ payload: { ok: false }, signalId: 'once' }), later(20)));
    expect(first.state.steps.approve!.output).toEqual({ ok: false });
    const again = decide(first.state, sig({ payload: { ok: true }, signalId: 'once' }), later(21));
    expect(again).toMatchObject({ kind: 'unchanged', reason: 'signal once was applied already' });
    // also before any step waits: a copy does not replace the kept one
    const s0 = start();
    const kept = changed(decide(s0, sig({ payload: { ok: false }, signalId: 'dup' }), later(1)));
    expect(decide(kept.state, sig({ payload: { ok: true }, signalId: 'dup' }), later(2)).kind).toBe('unchanged');
  });

  it('leaves an ended run unchanged', () => {
    const w = waiting();
    const cancelled = changed(decide(w.state, { type: 'run.cancel', runId: 'run-s', reason: 'stop' }, later(20)));
    expect(cancelled.state.status).toBe('cancelled');
    // the waiting signal step has no task to revoke: the run ends at once
    expect(cancelled.state.settling).toBeUndefined();
    expect(decide(cancelled.state, sig(), later(30))).toMatchObject({ kind: 'unchanged', reason: 'run already cancelled' });
  });

  it('with timeoutMs and onTimeout fail: publishes a step timer; an early or stale firing changes nothing; a late one fails the run', () => {
    const w = waiting({ timeoutMs: 5_000 });
    const timer = timerOf(w)!;
    const until = later(10 + 5_000).toISOString();
    expect(timer).toEqual({ subject: 'pw.runs.deadline', msgId: 'run-s:step-timer:approve:a1:0', payload: { schemaVersion: 1, runId: 'run-s', deadlineAt: until, step: { stepId: 'approve', attempt: 1 } } });
    expect(w.state.steps.approve!.signal?.until).toBe(until);
    const fire = (attempt = 1) => ({ type: 'step.timeout' as const, runId: 'run-s', stepId: 'approve', attempt });
    expect(decide(w.state, fire(), later(4_000))).toMatchObject({ kind: 'unchanged', reason: expect.stringContaining('fired early') });
    expect(decide(w.state, fire(2), later(6_000))).toMatchObject({ kind: 'unchanged', reason: expect.stringContaining('stale') });
    const out = changed(decide(w.state, fire(), later(5_010)));
    expect(out.state.status).toBe('failed');
    expect(out.state.reason).toBe('signal approval not received within 5000 ms (guard: timeoutMs)');
    expect(out.state.steps.approve).toMatchObject({ status: 'failed', error: { code: 'signal_timeout' } });
    // a signal after the timeout finds the run over
    expect(decide(out.state, sig(), later(6_000)).kind).toBe('unchanged');
  });

  it('with onTimeout continue: the step succeeds with a null output at the timeout; a timer firing after the signal came changes nothing', () => {
    const w = waiting({ timeoutMs: 1_000, onTimeout: 'continue' });
    const fire = { type: 'step.timeout' as const, runId: 'run-s', stepId: 'approve', attempt: 1 };
    const t = changed(decide(w.state, fire, later(2_000)));
    expect(t.state.steps.approve).toMatchObject({ status: 'succeeded', output: null });
    expect(t.decisions[0]!.reason).toContain('goes on with a null output (onTimeout: continue)');

    const got = changed(decide(w.state, sig(), later(500)));
    expect(decide(got.state, fire, later(2_000))).toMatchObject({ kind: 'unchanged', reason: 'step approve does not wait for a signal' });
  });

  it('a resumed run waits again as the next attempt, with a timer of its own', () => {
    const w = waiting({ timeoutMs: 1_000 });
    const failed = changed(decide(w.state, { type: 'step.timeout', runId: 'run-s', stepId: 'approve', attempt: 1 }, later(2_000)));
    const resumed = changed(decide(failed.state, { type: 'run.resume', runId: 'run-s', request: { schemaVersion: SCHEMA_VERSION, runId: 'run-s', resumeId: 'r1', reason: 'again' } }, later(3_000)));
    expect(resumed.state.steps.approve).toMatchObject({ status: 'dispatched', attempt: 2 });
    expect(timerOf(resumed)?.msgId).toBe('run-s:step-timer:approve:a2:0');
    expect(changed(decide(resumed.state, sig(), later(3_100))).state.steps.approve!.status).toBe('succeeded');
  });
});
