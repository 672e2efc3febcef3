import type { RunState, StepCommand } from '@pipewright/contracts';
import { describe, expect, it } from 'vitest';
import { decide, type Transition } from '../src/index.js';
import { completed, dagRequest, failed, later, T0 } from './fixtures.js';

function changed(t: Transition): Extract<Transition, { kind: 'changed' }> {
  if (t.kind !== 'changed') throw new Error(`expected a change, got: ${t.reason}`);
  return t;
}
const commands = (t: Extract<Transition, { kind: 'changed' }>) =>
  t.messages.filter((m) => m.subject.startsWith('pw.steps.')).map((m) => m.payload as StepCommand);
const eventTypes = (t: Extract<Transition, { kind: 'changed' }>) =>
  t.messages.filter((m) => m.subject.startsWith('pw.events.')).map((m) => (m.payload as { type: string }).type);

function started(): RunState {
  return changed(decide(undefined, { type: 'run.submitted', runId: 'run-1', request: dagRequest() }, T0)).state;
}

describe('decide', () => {
  it('sends the run its deadline timer at start; the timer times the run out only once the deadline passed', () => {
    const t0 = changed(decide(undefined, { type: 'run.submitted', runId: 'run-1', request: dagRequest() }, T0));
    const timer = t0.messages.find((m) => m.subject === 'pw.runs.deadline');
    expect(timer).toEqual({ subject: 'pw.runs.deadline', msgId: 'run-1:deadline:0', payload: { schemaVersion: 1, runId: 'run-1', deadlineAt: t0.state.deadlineAt } });
    expect(decide(t0.state, { type: 'run.deadline', runId: 'run-1' }, later(1_000)).kind).toBe('unchanged');
    const deadline = Date.parse(t0.state.deadlineAt);
    const late = changed(decide(t0.state, { type: 'run.deadline', runId: 'run-1' }, new Date(deadline + 1)));
    expect(late.state.status).toBe('timed_out');
    expect(late.state.reason).toContain('guard: limits.deadlineMs');
    // step a was running: it is revoked, and the run settles before it publishes run.finished
    expect(late.messages.filter((m) => m.append).map((m) => m.subject)).toEqual(['pw.events.run-1.step.revoked.a=1']);
    expect(eventTypes(late)).not.toContain('run.finished');
    expect(late.state.settling?.tasks).toEqual(['a=1']);
    // the settle timer: a deadline that has not passed changes nothing; once past, the run closes with what it knows
    expect(decide(late.state, { type: 'run.deadline', runId: 'run-1' }, new Date(deadline + 2)).kind).toBe('unchanged');
    const closed = changed(decide(late.state, { type: 'run.deadline', runId: 'run-1' }, new Date(Date.parse(late.state.settling!.until) + 1)));
    expect(closed.messages.find((m) => m.subject.endsWith('run.finished'))?.payload).toMatchObject({ status: 'timed_out', unsettled: 1 });
    expect(decide(closed.state, { type: 'run.deadline', runId: 'run-1' }, later(10 ** 9)).kind).toBe('unchanged');
  });

  it('fails the run, naming the step, when a rendered prompt would make a command larger than a message may be', () => {
    const s0 = started();
    // step c renders all of a's output: 900 KB in one prompt
    const t = changed(decide(s0, completed(s0, 'a', { title: 'T', body: 'x'.repeat(900_000) }), later(1)));
    expect(t.state.status).toBe('failed');
    expect(t.state.reason).toMatch(/^step c: its rendered prompt makes a \d+-byte command, more than the 786432 bytes/);
    expect(commands(t).every((c) => JSON.stringify(c).length < 786_432)).toBe(true);
  });

  it('starts a run by dispatching only the steps with no needs, with rendered prompts', () => {
    const t = changed(decide(undefined, { type: 'run.submitted', runId: 'run-1', request: dagRequest() }, T0));
    expect(t.state.status).toBe('running');
    const cmds = commands(t);
    expect(cmds.map((c) => c.stepId)).toEqual(['a']);
    expect(cmds[0]!.call.messages).toEqual([{ role: 'user', content: 'Outline tides' }]);
    expect(cmds[0]!.call.model).toEqual({ provider: 'default', model: 'sim-small' });
    expect(cmds[0]!.retry.maxAttempts).toBe(3);
    expect(t.messages.find((m) => m.subject === 'pw.steps.default.dispatch')?.msgId).toBe('run-1:a=1:cmd');
    expect(eventTypes(t)).toEqual(['run.started', 'step.dispatched']);
    expect(t.decisions.map((d) => [d.seq, d.action])).toEqual([[0, 'start'], [1, 'dispatch']]);
    // the trail travels on the transition's first planner event: no write of its own
    expect((t.messages.find((m) => m.subject.endsWith('run.started'))?.payload as { decisions?: unknown[] }).decisions).toEqual(t.decisions);
  });

  it('fans out after a step completes and fans in when all needs are done', () => {
    let s = started();
    const t1 = changed(decide(s, completed(s, 'a', { title: 'Tides' }), later(10)));
    expect(commands(t1).map((c) => c.stepId)).toEqual(['b', 'c']);
    expect(commands(t1)[0]!.call.messages[0]!.content).toBe('Facts for Tides');
    expect(commands(t1)[1]!.call.messages[0]!.content).toBe('Tone for {"title":"Tides"}');
    s = t1.state;
    const t2 = changed(decide(s, completed(s, 'b', 'B'), later(20)));
    expect(commands(t2)).toEqual([]); // d still waits for c
    s = t2.state;
    const t3 = changed(decide(s, completed(s, 'c', 'C'), later(30)));
    expect(commands(t3).map((c) => c.stepId)).toEqual(['d']);
    expect(commands(t3)[0]!.call.messages[0]!.content).toBe('Combine B and C');
    s = t3.state;
    const t4 = changed(decide(s, completed(s, 'd', 'final'), later(40)));
    expect(t4.state.status).toBe('succeeded');
    expect(t4.state.output).toBe('final');
    expect(t4.state.usage.totalTokens).toBe(60);
    const fin = t4.messages.find((m) => m.subject === 'pw.events.run-1.run.finished');
    expect(fin?.payload).toMatchObject({ status: 'succeeded', output: 'final', durationMs: 40 });
    expect(t4.state.decisionSeq).toBe(t4.decisions.at(-1)!.seq + 1);
  });

  it('ignores a duplicate submission and a duplicate step result', () => {
    const s = started();
    expect(decide(s, { type: 'run.submitted', runId: 'run-1', request: dagRequest() }, T0).kind).toBe('unchanged');
    const after = changed(decide(s, completed(s, 'a', { title: 'x' }), later(1))).state;
    const dup = decide(after, completed(after, 'a', { title: 'other' }), later(2));
    expect(dup).toMatchObject({ kind: 'unchanged' });
  });

  it('fails the run with the step error; the step still running is revoked and its cost counted before run.finished', () => {
    let s = started();
    s = changed(decide(s, completed(s, 'a', { title: 'T' }), later(1))).state;
    const t = changed(decide(s, failed(s, 'b'), later(2)));
    expect(t.state.status).toBe('failed');
    expect(t.state.reason).toContain('step b failed: provider_5xx');
    expect(t.messages.filter((m) => m.append).map((m) => m.subject)).toEqual(['pw.events.run-1.step.revoked.c=1']);
    expect(eventTypes(t)).not.toContain('run.finished');
    // c's executor reports after the end: its spending is the run's, then the run finishes
    const late = completed(t.state, 'c', 'C');
    late.costUsd = 0.25;
    const fin = changed(decide(t.state, late, later(3)));
    const payload = fin.messages.find((m) => m.subject.endsWith('run.finished'))!.payload as { partial: unknown; costUsd: number; status: string };
    expect(payload).toMatchObject({ status: 'failed', costUsd: 0.25, partial: { a: { title: 'T' } } });
    expect(fin.state.settling).toBeUndefined();
    // another copy of c's result changes nothing
    expect(decide(fin.state, late, later(4)).kind).toBe('unchanged');
  });

  it('settles a revoked task that never started at once, from its revocation', () => {
    const s = started();
    const t = changed(decide(s, { type: 'run.cancel', runId: 'run-1', reason: 'user' }, later(1)));
    expect(t.state.settling?.tasks).toEqual(['a=1']);
    const revoked = { schemaVersion: 1 as const, type: 'step.revoked' as const, runId: 'run-1', stepId: 'a', attempt: 1, task: 'llm' as const, reason: 'cancelled', inFlight: false, at: later(2).toISOString() };
    const fin = changed(decide(t.state, revoked, later(2)));
    expect(fin.messages.find((m) => m.subject.endsWith('run.finished'))?.payload).toMatchObject({ status: 'cancelled' });
    // a revocation that found the task running waits for its owner's result instead
    expect(decide(t.state, { ...revoked, inFlight: true, owner: 'ex-1' }, later(2)).kind).toBe('unchanged');
  });

  it('cancels a running run once', () => {
    const s = started();
    const t = changed(decide(s, { type: 'run.cancel', runId: 'run-1', reason: 'user' }, later(5)));
    expect(t.state.status).toBe('cancelled');
    expect(decide(t.state, { type: 'run.cancel', runId: 'run-1', reason: 'again' }, later(6)).kind).toBe('unchanged');
  });

  it('ends the run when the step limit would be passed (guard: limits.maxSteps)', () => {
    const req = dagRequest();
    req.pipeline.limits.maxSteps = 2;
    let s = changed(decide(undefined, { type: 'run.submitted', runId: 'run-1', request: req }, T0)).state;
    const t = changed(decide(s, completed(s, 'a', { title: 'T' }), later(1)));
    s = t.state;
    expect(s.status).toBe('failed');
    expect(s.reason).toContain('limits.maxSteps');
    expect(commands(t)).toEqual([]);
  });

  it('times the run out on the first event after its deadline (guard: limits.deadlineMs)', () => {
    const req = dagRequest();
    req.pipeline.limits.deadlineMs = 100;
    const s = changed(decide(undefined, { type: 'run.submitted', runId: 'run-1', request: req }, T0)).state;
    const t = changed(decide(s, completed(s, 'a', { title: 'T' }), later(101)));
    expect(t.state.status).toBe('timed_out');
  });

  it('fails the run, naming the path, when a template value is missing at dispatch', () => {
    let s = started();
    s = changed(decide(s, completed(s, 'a', { notTitle: 1 }), later(1))).state;
    expect(s.status).toBe('failed');
    expect(s.reason).toContain('steps.a.output.title');
  });

  it('puts the decisions of a transition that publishes no event on a run.decided event', () => {
    const s = started();
    const t = changed(decide(s, { type: 'run.cancel', runId: 'run-1', reason: 'user' }, later(1)));
    const decided = t.messages.find((m) => m.subject === 'pw.events.run-1.run.decided');
    expect((decided?.payload as { decisions: { action: string }[] }).decisions.map((d) => d.action)).toEqual(['finish', 'settle']);
  });

  it('does not mutate the state it was given', () => {
    const s = started();
    const before = JSON.stringify(s);
    decide(s, completed(s, 'a', { title: 'T' }), later(1));
    expect(JSON.stringify(s)).toBe(before);
  });
});

describe('decide: pauses, budgets and costs', () => {
  const parked = (s: RunState, stepId: string) => ({
    schemaVersion: 1 as const, type: 'step.parked' as const, runId: s.runId, stepId, attempt: 1, at: later(1).toISOString(), retryAt: later(5_000).toISOString(), reason: 'breakers open for sim-small',
  });

  it('pauses the run while a step is parked and resumes it when the step completes', () => {
    const s = started();
    const p = changed(decide(s, parked(s, 'a'), later(1)));
    expect(p.state.status).toBe('paused');
    expect(p.decisions.map((d) => d.action)).toEqual(['pause']);
    expect(decide(p.state, parked(p.state, 'a'), later(2)).kind).toBe('unchanged');
    const r = changed(decide(p.state, completed(p.state, 'a', { title: 'T' }), later(3)));
    expect(r.state.status).toBe('running');
    expect(r.decisions.map((d) => d.action)).toEqual(['complete-step', 'resume', 'dispatch']);
  });

  it('ends the run as budget_exhausted with its partial result when a reservation is denied', () => {
    let s = started();
    s = changed(decide(s, completed(s, 'a', { title: 'T' }), later(1))).state;
    const f = failed(s, 'b');
    f.error = { code: 'budget_exceeded', message: 'run.maxUsd 0.01 reached', retryable: false };
    const t = changed(decide(s, f, later(2)));
    expect(t.state.status).toBe('budget_exhausted');
    expect(t.state.reason).toContain('guard: budget');
    const fin = changed(decide(t.state, completed(t.state, 'c', 'C'), later(3)));
    expect(fin.messages.find((m) => m.subject.endsWith('run.finished'))?.payload).toMatchObject({ status: 'budget_exhausted', partial: { a: { title: 'T' } } });
  });

  it('passes the effective run limits to every command and rolls up cost', () => {
    const req = dagRequest({ budget: { maxUsd: 0.5 } });
    req.pipeline.budget = { maxTokens: 1000, onExceeded: 'fail', failClosed: true };
    const t = changed(decide(undefined, { type: 'run.submitted', runId: 'run-1', request: req }, T0));
    expect(commands(t)[0]!.budget).toEqual({ tenant: 'default', pipeline: 'dag', maxUsd: 0.5, maxTokens: 1000, failClosed: true });
    const c = completed(t.state, 'a', { title: 'T' });
    c.costUsd = 0.000123;
    const t2 = changed(decide(t.state, c, later(1)));
    expect(t2.state.costUsd).toBeCloseTo(0.000123, 9);
  });
});
