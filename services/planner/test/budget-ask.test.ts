import { RunRequest, SCHEMA_VERSION, type ApprovalDecision, type ApprovalRequest, type RunState, type StepCommand, type StepFailed } from '@pipewright/contracts';
import { describe, expect, it } from 'vitest';
import { decide, type Transition } from '../src/index.js';
import { askPolicy, exceededRunLimit, limitsSchema, proposeLimits } from '../src/core/budget-ask.js';
import { completed, later, T0 } from './fixtures.js';

type Changed = Extract<Transition, { kind: 'changed' }>;
function changed(t: Transition): Changed {
  if (t.kind !== 'changed') throw new Error(`expected a change, got: ${t.reason}`);
  return t;
}
const commands = (t: Changed) => t.messages.filter((m) => m.subject.endsWith('.dispatch'));
const approvalRequest = (t: Changed) => t.messages.find((m) => m.subject === 'pw.approvals.request');
const finished = (t: Changed) => t.messages.find((m) => m.subject.endsWith('.run.finished'))?.payload;

function start(budget: Record<string, unknown>, extra: Record<string, unknown> = {}): RunState {
  const request = RunRequest.parse({
    schemaVersion: SCHEMA_VERSION,
    runId: 'run-1',
    input: {},
    pipeline: {
      name: 'brief',
      defaults: { model: 'sim-large' },
      budget,
      steps: [
        { id: 'draft', prompt: 'Draft' },
        { id: 'publish', needs: ['draft'], prompt: 'Publish {{steps.draft.output}}' },
      ],
      ...extra,
    },
  });
  return changed(decide(undefined, { type: 'run.submitted', runId: 'run-1', request }, T0)).state;
}

function denied(state: RunState, stepId: string, message: string, attempt = 1): StepFailed {
  return {
    schemaVersion: SCHEMA_VERSION,
    type: 'step.failed',
    runId: state.runId,
    stepId,
    attempt,
    calls: 0,
    usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
    latencyMs: 2,
    at: T0.toISOString(),
    error: { code: 'budget_exceeded', message, retryable: false },
  };
}
const RUN_USD = "budget run.maxUsd: the run's budget of $0.01 would be exceeded";

function decision(approvalId: string, stepId: string, over: Partial<ApprovalDecision> = {}): ApprovalDecision {
  return { schemaVersion: SCHEMA_VERSION, type: 'approval.decided', approvalId, runId: 'run-1', stepId, decision: 'approved', by: 'alice', via: 'api', at: T0.toISOString(), ...over };
}

/** draft done ($0.006 spent), publish denied by run.maxUsd: the run asks for more. */
function asking(budget: Record<string, unknown> = { maxUsd: 0.01, onExceeded: 'ask' }, extra: Record<string, unknown> = {}): Changed {
  const s0 = start(budget, extra);
  const s1 = changed(decide(s0, { ...completed(s0, 'draft', 'the draft'), costUsd: 0.006 }, later(1))).state;
  return changed(decide(s1, denied(s1, 'publish', RUN_USD), later(2)));
}

describe('budget.onExceeded: ask', () => {
  it('holds the step and asks for twice the limit instead of ending the run', () => {
    const t = asking();
    expect(t.state.status).toBe('waiting_approval');
    expect(t.state.reason).toBe('waiting for approval: run-1:publish:1:budget');
    expect(t.state.steps['publish']).toMatchObject({ status: 'dispatched', attempt: 1, error: { code: 'budget_exceeded' }, approval: { approvalId: 'run-1:publish:1:budget', kind: 'budget', budget: { exceeded: 'maxUsd', current: { maxUsd: 0.01 }, proposed: { maxUsd: 0.02 } } } });
    expect(finished(t)).toBeUndefined();
    expect(commands(t)).toEqual([]);
    const req = approvalRequest(t);
    expect(req?.msgId).toBe('run-1:publish:1:budget');
    expect(req?.payload as ApprovalRequest).toMatchObject({
      approvalId: 'run-1:publish:1:budget',
      stepId: 'publish',
      action: { kind: 'budget', arguments: { maxUsd: 0.02 } },
      argumentsSchema: { type: 'object', properties: { maxUsd: { type: 'number', exclusiveMinimum: 0.01 } }, required: ['maxUsd'], additionalProperties: false },
      budget: { exceeded: 'maxUsd', current: { maxUsd: 0.01 }, spentUsd: 0.006, spentTokens: 15 },
      costSoFarUsd: 0.006,
      onTimeout: 'reject',
    });
    const request = req?.payload as ApprovalRequest;
    expect(request.timeoutMs).toBeUndefined();
    expect(request.reason).toBe("step publish: budget run.maxUsd: the run's budget of $0.01 would be exceeded (spent so far: $0.006, 15 tokens); raise run maxUsd from $0.01 to $0.02? (budget.onExceeded: ask)");
    expect(t.messages.find((m) => m.subject.endsWith('.approval.requested'))?.payload).toMatchObject({ approvalId: 'run-1:publish:1:budget', action: { kind: 'budget' } });
    expect(t.decisions.map((d) => d.action)).toEqual(['request-approval']);
  });

  it('approved: raises the run budget and dispatches the step again as its next attempt', () => {
    const t = changed(decide(asking().state, decision('run-1:publish:1:budget', 'publish'), later(3)));
    expect(t.state.status).toBe('running');
    expect(t.state.budget).toEqual({ maxUsd: 0.02 });
    expect(t.state.steps['publish']).toMatchObject({ status: 'dispatched', attempt: 2 });
    expect(t.state.steps['publish']?.approval).toBeUndefined();
    expect(t.state.steps['publish']?.error).toBeUndefined();
    const [cmd] = commands(t);
    expect(cmd?.msgId).toBe('run-1:publish=2:cmd');
    expect(cmd?.payload as StepCommand).toMatchObject({ stepId: 'publish', attempt: 2, budget: { maxUsd: 0.02 } });
    expect(t.decisions.map((d) => [d.action, d.reason])).toEqual([
      ['approval-approved', 'approval run-1:publish:1:budget approved by alice via api'],
      ['raise-budget', 'run limits maxUsd $0.01 → maxUsd $0.02: approval run-1:publish:1:budget approved by alice via api'],
      ['dispatch', 'step publish again (attempt 2) with the raised budget'],
    ]);
    // the run then finishes normally, with what it spent
    const done = changed(decide(t.state, { ...completed(t.state, 'publish', 'published', 2), costUsd: 0.008 }, later(4)));
    expect(done.state.status).toBe('succeeded');
    expect(done.state.costUsd).toBeCloseTo(0.014, 9);
  });

  it('edited: raises the budget to the amount the person chose; an invalid edit is not applied', () => {
    const s = asking().state;
    const t = changed(decide(s, decision('run-1:publish:1:budget', 'publish', { decision: 'edited', arguments: { maxUsd: 0.05 } }), later(3)));
    expect(t.state.budget).toEqual({ maxUsd: 0.05 });
    expect((commands(t)[0]?.payload as StepCommand).budget?.maxUsd).toBe(0.05);

    const bad = changed(decide(s, decision('run-1:publish:1:budget', 'publish', { decision: 'edited', arguments: { maxUsd: 0.005 } }), later(3)));
    expect(bad.state.status).toBe('budget_exhausted');
    expect(bad.state.budget).toEqual({ maxUsd: 0.01 });
    expect(bad.state.reason).toContain('the edited limits of approval run-1:publish:1:budget are invalid: arguments.maxUsd');
    expect(commands(bad)).toEqual([]);
  });

  it('rejected: the run ends budget_exhausted with its partial result, naming who rejected', () => {
    const t = changed(decide(asking().state, decision('run-1:publish:1:budget', 'publish', { decision: 'rejected', by: 'bob', reason: 'not worth it' }), later(3)));
    expect(t.state.status).toBe('budget_exhausted');
    expect(t.state.reason).toBe(
      "step publish: budget run.maxUsd: the run's budget of $0.01 would be exceeded (guard: budget); more budget refused: approval run-1:publish:1:budget rejected by bob via api: not worth it",
    );
    expect(t.state.steps['publish']).toMatchObject({ status: 'failed', error: { code: 'budget_exceeded' } });
    expect(t.state.budget).toEqual({ maxUsd: 0.01 });
    expect(finished(t)).toMatchObject({ status: 'budget_exhausted', partial: { draft: 'the draft' }, costUsd: 0.006 });
    expect(commands(t)).toEqual([]);
  });

  it('ignores stale and duplicate decisions and results', () => {
    const waiting = asking().state;
    // a decision for another approval, or a redelivered failure, changes nothing while it waits
    expect(decide(waiting, decision('run-1:publish:0:budget', 'publish'), later(3))).toMatchObject({ kind: 'unchanged', reason: expect.stringContaining('stale or duplicate') });
    expect(decide(waiting, denied(waiting, 'publish', RUN_USD), later(3))).toMatchObject({ kind: 'unchanged', reason: expect.stringContaining('waits for approval') });
    const approved = changed(decide(waiting, decision('run-1:publish:1:budget', 'publish'), later(3))).state;
    // the same decision again, and a late failure of attempt 1, once the step runs again
    expect(decide(approved, decision('run-1:publish:1:budget', 'publish'), later(4))).toMatchObject({ kind: 'unchanged', reason: expect.stringContaining('not waiting for it') });
    expect(decide(approved, denied(approved, 'publish', RUN_USD, 1), later(4))).toMatchObject({ kind: 'unchanged', reason: expect.stringContaining('stale failure') });
    // attempt 2 denied again: a new approval, proposing twice the raised limit
    const again = changed(decide(approved, denied(approved, 'publish', "budget run.maxUsd: the run's budget of $0.02 would be exceeded", 2), later(5)));
    expect(again.state.steps['publish']?.approval).toMatchObject({ approvalId: 'run-1:publish:2:budget', budget: { proposed: { maxUsd: 0.04 } } });
  });

  it('ends the run as before with onExceeded fail, or when the denial is not a run limit', () => {
    const fail = asking({ maxUsd: 0.01 });
    expect(fail.state.status).toBe('budget_exhausted');
    expect(approvalRequest(fail)).toBeUndefined();

    const s0 = start({ maxUsd: 0.01, onExceeded: 'ask' });
    const s1 = changed(decide(s0, completed(s0, 'draft', 'the draft'), later(1))).state;
    const t = changed(decide(s1, denied(s1, 'publish', 'budget tenant.maxUsd: the tenant budget of $100 in 24 h would be exceeded'), later(2)));
    expect(t.state.status).toBe('budget_exhausted');
    expect(t.state.reason).toContain("budget.onExceeded ask raises only the run's own limits");
    expect(approvalRequest(t)).toBeUndefined();
  });

  it('a token limit: proposes twice it, and the person may raise either limit the run has', () => {
    const s0 = start({ maxUsd: 1, maxTokens: 1000, onExceeded: 'ask' });
    const s1 = changed(decide(s0, completed(s0, 'draft', 'the draft'), later(1))).state;
    const t = changed(decide(s1, denied(s1, 'publish', "budget run.maxTokens: the run's budget of 1000 tokens would be exceeded"), later(2)));
    const req = approvalRequest(t)?.payload as ApprovalRequest;
    expect(req.action.arguments).toEqual({ maxTokens: 2000 });
    expect(req.argumentsSchema).toMatchObject({ properties: { maxUsd: { exclusiveMinimum: 1 }, maxTokens: { type: 'integer', exclusiveMinimum: 1000 } }, required: ['maxTokens'] });
    const e = changed(decide(t.state, decision('run-1:publish:1:budget', 'publish', { decision: 'edited', arguments: { maxTokens: 5000, maxUsd: 2 } }), later(3)));
    expect(e.state.budget).toEqual({ maxUsd: 2, maxTokens: 5000 });
  });

  it('re-dispatches an agent step at the turn that was denied, with its history', () => {
    const request = RunRequest.parse({
      schemaVersion: SCHEMA_VERSION,
      runId: 'run-1',
      input: {},
      pipeline: {
        name: 'agentic',
        defaults: { model: 'sim-small' },
        budget: { maxUsd: 0.01, onExceeded: 'ask' },
        tools: { lookup: { description: 'Find', input: { type: 'object', properties: { id: { type: 'string' } } } } },
        steps: [{ id: 'support', kind: 'agent', prompt: 'Help', tools: ['lookup'] }],
      },
    });
    let s = changed(decide(undefined, { type: 'run.submitted', runId: 'run-1', request }, T0)).state;
    const turn = (n: number, output: unknown) => ({ ...completed(s, 'support', output), task: 'agent-turn' as const, turn: n });
    s = changed(decide(s, turn(1, { action: 'tool', call: { id: 'c1', name: 'lookup', arguments: { id: 'A' } } }), later(1))).state;
    s = changed(decide(s, { ...completed(s, 'support', { found: true }), task: 'tool', turn: 1 }, later(2))).state;
    expect(s.steps['support']?.agent?.turn).toBe(2);
    const t = changed(decide(s, { ...denied(s, 'support', RUN_USD), task: 'agent-turn', turn: 2 }, later(3)));
    expect(t.state.steps['support']?.approval?.approvalId).toBe('run-1:support:1:budget');
    const a = changed(decide(t.state, decision('run-1:support:1:budget', 'support'), later(4)));
    const [cmd] = commands(a);
    expect(cmd?.msgId).toBe('run-1:support=2=t2:cmd');
    const c = cmd?.payload as StepCommand;
    expect(c).toMatchObject({ kind: 'agent-turn', turn: 2, attempt: 2, budget: { maxUsd: 0.02 } });
    expect(c.call.messages.slice(1)).toEqual([
      { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'lookup', arguments: { id: 'A' } }] },
      { role: 'tool', toolCallId: 'c1', content: '{"found":true}' },
    ]);
    expect(a.state.steps['support']?.agent).toMatchObject({ turn: 2, history: c.call.messages.slice(1) });
    // the answer of the re-dispatched turn (attempt 2) finishes the step
    const done = changed(decide(a.state, { ...completed(a.state, 'support', { action: 'final', output: 'ok' }, 2), task: 'agent-turn', turn: 2 }, later(5)));
    expect(done.state.status).toBe('succeeded');
  });
});

describe('budget ask rules', () => {
  it('reads the run limit from the denial, proposes twice it, and bounds an edit from below', () => {
    expect(exceededRunLimit({ code: 'budget_exceeded', message: RUN_USD, retryable: false })).toBe('maxUsd');
    expect(exceededRunLimit({ code: 'budget_exceeded', message: 'budget pipeline.maxUsd: …', retryable: false })).toBeUndefined();
    expect(proposeLimits({ maxUsd: 0.25, maxTokens: 10 }, 'maxUsd')).toEqual({ maxUsd: 0.5 });
    expect(proposeLimits({ maxTokens: 999 }, 'maxTokens')).toEqual({ maxTokens: 1998 });
    expect(limitsSchema({ maxUsd: 0.25 }, 'maxUsd')).toEqual({
      type: 'object',
      properties: { maxUsd: { type: 'number', exclusiveMinimum: 0.25, description: "the run's new limit in USD (now $0.25)" } },
      required: ['maxUsd'],
      additionalProperties: false,
    });
  });

  it('times out after budget.askTimeoutMs, else the default approval timeout; a timeout never approves', () => {
    const spec = (budget: Record<string, unknown>, approval?: Record<string, unknown>) =>
      RunRequest.parse({ schemaVersion: SCHEMA_VERSION, input: {}, pipeline: { name: 'p', defaults: { model: 'm', ...(approval ? { approval } : {}) }, budget, steps: [{ id: 'a', prompt: 'x' }] } }).pipeline;
    expect(askPolicy(spec({ onExceeded: 'ask' }))).toEqual({ always: false, tools: [], onTimeout: 'reject' });
    expect(askPolicy(spec({ onExceeded: 'ask', askTimeoutMs: 60_000 }, { timeoutMs: 5, onTimeout: 'approve' }))).toMatchObject({ timeoutMs: 60_000, onTimeout: 'reject' });
    expect(askPolicy(spec({ onExceeded: 'ask' }, { timeoutMs: 5_000, onTimeout: 'approve' }))).toMatchObject({ timeoutMs: 5_000, onTimeout: 'reject' });
    expect(askPolicy(spec({ onExceeded: 'ask' }, { timeoutMs: 5_000, onTimeout: 'escalate', escalation: { to: 'finance' } }))).toMatchObject({ timeoutMs: 5_000, onTimeout: 'escalate', escalation: { to: 'finance' } });
    const t = asking({ maxUsd: 0.01, onExceeded: 'ask', askTimeoutMs: 120_000 });
    expect(approvalRequest(t)?.payload).toMatchObject({ timeoutMs: 120_000, onTimeout: 'reject' });
  });
});
