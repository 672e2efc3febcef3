import { SCHEMA_VERSION, type ResumeRequest, type RunResumed, type RunState, type StepCommand } from '@pipewright/contracts';
import { describe, expect, it } from 'vitest';
import { decide, type Transition } from '../src/index.js';
import { completed, dagRequest, failed, later, T0 } from './fixtures.js';

type Changed = Extract<Transition, { kind: 'changed' }>;
function changed(t: Transition): Changed {
  if (t.kind !== 'changed') throw new Error(`expected a change, got: ${t.reason}`);
  return t;
}
const commands = (t: Changed) => t.messages.filter((m) => m.subject.endsWith('.dispatch')).map((m) => m.payload as StepCommand);
const event = <T>(t: Changed, type: string) => t.messages.find((m) => m.subject === `pw.events.run-1.${type}`) as { msgId: string; payload: T } | undefined;
const resumeReq = (resumeId: string, over: Partial<ResumeRequest> = {}): ResumeRequest => ({ schemaVersion: SCHEMA_VERSION, runId: 'run-1', resumeId, reason: 'resumed by test', ...over });
const resumeEv = (resumeId: string, over: Partial<ResumeRequest> = {}) => ({ type: 'run.resume' as const, runId: 'run-1', request: resumeReq(resumeId, over) });

function started(): RunState {
  return changed(decide(undefined, { type: 'run.submitted', runId: 'run-1', request: dagRequest() }, T0)).state;
}

/** Reports every task the ended run waits for as revoked before it started: the run settles and publishes run.finished. */
function settled(s: RunState, at: Date): RunState {
  for (const task of s.settling?.tasks ?? []) {
    const [stepId, attempt] = task.split('=') as [string, string];
    s = changed(decide(s, { schemaVersion: SCHEMA_VERSION, type: 'step.revoked', runId: s.runId, stepId, attempt: Number(attempt), task: 'llm', reason: 'ended', inFlight: false, at: at.toISOString() }, at)).state;
  }
  expect(s.settling).toBeUndefined();
  return s;
}

/** a succeeded, then b failed while c ran: the run failed, c was revoked. */
function failedAtB(): RunState {
  let s = started();
  s = changed(decide(s, completed(s, 'a', { title: 'Tides' }), later(10))).state;
  const t = changed(decide(s, failed(s, 'b'), later(20)));
  expect(t.state.status).toBe('failed');
  return settled(t.state, later(30));
}

describe('resume (pw.runs.resume)', () => {
  it('resumes a failed run from where it stopped: a keeps its output, the failed b and the revoked c run again as attempt 2', () => {
    const s = failedAtB();
    const t = changed(decide(s, resumeEv('r1'), later(1_000)));
    expect(t.state).toMatchObject({ status: 'running', resumes: { count: 1, ids: ['r1'] } });
    expect(t.state.finishedAt).toBeUndefined();
    expect(t.state.reason).toBeUndefined();
    expect(t.state.steps['a']).toMatchObject({ status: 'succeeded', attempt: 1, output: { title: 'Tides' } });
    const cmds = commands(t);
    expect(cmds.map((c) => [c.stepId, c.attempt])).toEqual([['b', 2], ['c', 2]]);
    expect(cmds[0]!.call.messages[0]!.content).toBe('Facts for Tides'); // a's output, not run again
    expect(t.messages.filter((m) => m.subject.endsWith('.dispatch')).map((m) => m.msgId)).toEqual(['run-1:b=2:cmd', 'run-1:c=2:cmd']);
    expect(t.state.steps['b']?.error).toBeUndefined();
    // run.resumed carries the decisions; a new deadline from now, with its own timer
    const resumed = event<RunResumed>(t, 'run.resumed')!;
    expect(resumed.msgId).toBe('run-1:run.resumed:r1');
    expect(resumed.payload).toMatchObject({ type: 'run.resumed', resumeId: 'r1', from: 'failed', steps: ['b', 'c', 'd'], reason: 'resumed by test', maxSteps: 100 });
    expect(resumed.payload.deadlineAt).toBe(new Date(later(1_000).getTime() + 3_600_000).toISOString());
    expect(resumed.payload.decisions?.map((d) => d.action)).toEqual(['resume', 'dispatch']);
    expect(t.messages.find((m) => m.subject === 'pw.runs.deadline')).toMatchObject({ msgId: 'run-1:deadline:r1.0', payload: { deadlineAt: t.state.deadlineAt } });
    // the resumed life ends with a run.finished of its own (JetStream would drop a second `final`)
    let s2 = t.state;
    for (const id of ['b', 'c']) s2 = changed(decide(s2, completed(s2, id, id.toUpperCase(), 2), later(2_000))).state;
    const end = changed(decide(s2, completed(s2, 'd', 'done', 1), later(3_000)));
    expect(event(end, 'run.finished')).toMatchObject({ msgId: 'run-1:run.finished:final:r1', payload: { status: 'succeeded', output: 'done' } });
  });

  it('is idempotent by resumeId; a second resume after the run stopped again is a new life with its own ids', () => {
    const s = failedAtB();
    const once = changed(decide(s, resumeEv('r1'), later(1_000))).state;
    expect(decide(once, resumeEv('r1'), later(1_001))).toEqual({ kind: 'unchanged', reason: 'resume r1 of run run-1 was applied already' });
    // b fails again at attempt 2: the run stops; the same resume id still changes nothing, another one resumes it
    let s2 = changed(decide(once, { ...failed(once, 'b'), attempt: 2 }, later(2_000))).state;
    s2 = settled(s2, later(2_001));
    expect(s2.status).toBe('failed');
    expect(decide(s2, resumeEv('r1'), later(3_000)).kind).toBe('unchanged');
    const again = changed(decide(s2, resumeEv('r2'), later(3_000)));
    expect(again.state.resumes).toMatchObject({ count: 2, ids: ['r1', 'r2'] });
    expect(commands(again).map((c) => [c.stepId, c.attempt])).toEqual([['b', 3], ['c', 3]]);
    expect(again.messages.find((m) => m.subject === 'pw.runs.deadline')?.msgId).toBe('run-1:deadline:r2.0');
  });

  it('changes nothing for a run that is running, succeeded or unknown, and waits while an ended run settles', () => {
    const running = started();
    expect(decide(running, resumeEv('r1'), later(1))).toEqual({ kind: 'unchanged', reason: 'run run-1 is running: only a failed, timed_out, budget_exhausted or cancelled run can be resumed' });
    expect(decide(undefined, resumeEv('r1'), later(1))).toMatchObject({ kind: 'unchanged', noRun: true, reason: 'no run run-1 to resume (never submitted, or removed by retention)' });
    let s = running;
    s = changed(decide(s, completed(s, 'a', { title: 'T' }), later(1))).state;
    s = changed(decide(s, completed(s, 'b', 'B'), later(2))).state;
    s = changed(decide(s, completed(s, 'c', 'C'), later(3))).state;
    s = changed(decide(s, completed(s, 'd', 'D'), later(4))).state;
    expect(decide(s, resumeEv('r1'), later(5))).toMatchObject({ kind: 'unchanged', reason: expect.stringContaining('is succeeded') });
    // failed with c still running: it settles first
    let f = started();
    f = changed(decide(f, completed(f, 'a', { title: 'T' }), later(1))).state;
    f = changed(decide(f, failed(f, 'b'), later(2))).state;
    expect(f.settling).toBeDefined();
    expect(decide(f, resumeEv('r1'), later(3))).toMatchObject({ kind: 'unchanged', wait: true });
  });

  it('resumes a cancelled run: the steps revoked mid-flight run again', () => {
    let s = started();
    s = changed(decide(s, { type: 'run.cancel', runId: 'run-1', reason: 'oops' }, later(5))).state;
    s = settled(s, later(6));
    expect(s.status).toBe('cancelled');
    const t = changed(decide(s, resumeEv('r1'), later(10)));
    expect(event<RunResumed>(t, 'run.resumed')?.payload).toMatchObject({ from: 'cancelled', steps: ['a', 'b', 'c', 'd'] });
    expect(commands(t).map((c) => [c.stepId, c.attempt])).toEqual([['a', 2]]);
  });

  it('resumes a timed-out run with a new deadline from limits.deadlineMs', () => {
    let s = started();
    s = changed(decide(s, { type: 'run.deadline', runId: 'run-1' }, later(3_600_001))).state;
    s = settled(s, later(3_600_002));
    expect(s.status).toBe('timed_out');
    const t = changed(decide(s, resumeEv('r1', { limits: { deadlineMs: 60_000 } }), later(4_000_000)));
    expect(t.state.deadlineAt).toBe(later(4_060_000).toISOString());
    expect(t.state.limits).toEqual({ deadlineMs: 60_000 });
    expect(commands(t)[0]).toMatchObject({ stepId: 'a', attempt: 2, deadlineAt: later(4_060_000).toISOString() });
    // the guard names the new allowance
    const late = changed(decide(t.state, { type: 'run.deadline', runId: 'run-1' }, later(4_060_001)));
    expect(late.state.reason).toBe('run deadline of 60000 ms passed (guard: limits.deadlineMs)');
  });

  it('resumes a budget-exhausted run with the new limit: the budget replaces the run\'s, the spend so far stays', () => {
    let s = changed(decide(undefined, { type: 'run.submitted', runId: 'run-1', request: dagRequest({ budget: { maxUsd: 0.01 } }) }, T0)).state;
    s = changed(decide(s, { ...completed(s, 'a', { title: 'T' }), costUsd: 0.009 }, later(1))).state;
    const denial = { ...failed(s, 'b'), error: { code: 'budget_exceeded', message: "budget run.maxUsd: the run's budget of $0.01 would be exceeded", retryable: false } };
    s = settled(changed(decide(s, denial, later(2))).state, later(3));
    expect(s.status).toBe('budget_exhausted');
    const t = changed(decide(s, resumeEv('r1', { budget: { maxUsd: 0.05 } }), later(10)));
    expect(t.state.budget).toEqual({ maxUsd: 0.05 });
    expect(t.state.costUsd).toBe(0.009);
    expect(commands(t).map((c) => [c.stepId, c.attempt, c.budget?.maxUsd])).toEqual([['b', 2, 0.05], ['c', 2, 0.05]]);
    expect(event<RunResumed>(t, 'run.resumed')?.payload).toMatchObject({ from: 'budget_exhausted', budget: { maxUsd: 0.05 } });
  });

  it('limits.maxSteps raises the cap on dispatches over the run\'s life', () => {
    let s = changed(decide(undefined, { type: 'run.submitted', runId: 'run-1', request: dagRequest({ pipeline: { ...dagRequest().pipeline, limits: { maxSteps: 3, deadlineMs: 3_600_000 } } }) }, T0)).state;
    s = changed(decide(s, completed(s, 'a', { title: 'T' }), later(1))).state; // 3 dispatches: a, b, c
    s = changed(decide(s, completed(s, 'b', 'B'), later(2))).state;
    s = changed(decide(s, completed(s, 'c', 'C'), later(3))).state; // d would be the 4th
    expect(s).toMatchObject({ status: 'failed', reason: 'step limit of 3 reached (guard: limits.maxSteps)' });
    // resumed without a higher cap, it stops again at once; with one, d runs
    const same = changed(decide(s, resumeEv('r1'), later(10)));
    expect(same.state.status).toBe('failed');
    expect(event(same, 'run.finished')?.msgId).toBe('run-1:run.finished:final:r1');
    const raised = changed(decide(s, resumeEv('r2', { limits: { maxSteps: 4 } }), later(10)));
    expect(commands(raised).map((c) => c.stepId)).toEqual(['d']);
    expect(event<RunResumed>(raised, 'run.resumed')?.payload.maxSteps).toBe(4);
  });
});
