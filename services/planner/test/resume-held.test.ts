import { RunRequest, SCHEMA_VERSION, type ApprovalDecision, type RunState, type StepCommand, type ToolCommand } from '@pipewright/contracts';
import { describe, expect, it } from 'vitest';
import { decide, type Transition } from '../src/index.js';
import { completed, later, T0 } from './fixtures.js';

// Resume of runs that stopped while a step waited for a person, or in the middle of an agent's loop.

type Changed = Extract<Transition, { kind: 'changed' }>;
function changed(t: Transition): Changed {
  if (t.kind !== 'changed') throw new Error(`expected a change, got: ${t.reason}`);
  return t;
}
const sent = <T>(t: Changed, suffix: string) => t.messages.filter((m) => m.subject.endsWith(suffix)).map((m) => m.payload as T);
const resumeEv = (runId: string, resumeId: string) => ({ type: 'run.resume' as const, runId, request: { schemaVersion: SCHEMA_VERSION, runId, resumeId, reason: 'go on' } });
const cancel = (runId: string) => ({ type: 'run.cancel' as const, runId, reason: 'stop' });

function start(runId: string, pipeline: Record<string, unknown>): RunState {
  const request = RunRequest.parse({ schemaVersion: SCHEMA_VERSION, runId, input: {}, pipeline: { defaults: { model: 'sim-small' }, ...pipeline } });
  return changed(decide(undefined, { type: 'run.submitted', runId, request }, T0)).state;
}

describe('resume: approvals', () => {
  const gated = { name: 'gated', steps: [{ id: 'draft', prompt: 'Draft', approval: { always: true } }, { id: 'publish', needs: ['draft'], prompt: 'Publish {{steps.draft.output}}' }] };
  const decision = (over: Partial<ApprovalDecision> = {}): ApprovalDecision => ({
    schemaVersion: SCHEMA_VERSION, type: 'approval.decided', approvalId: 'g1:draft:1', runId: 'g1', stepId: 'draft', decision: 'approved', by: 'alice', via: 'api', at: T0.toISOString(), ...over,
  });

  function cancelledWhileWaiting(): RunState {
    let s = start('g1', gated);
    s = changed(decide(s, completed(s, 'draft', 'the draft'), later(1))).state;
    expect(s.status).toBe('waiting_approval');
    s = changed(decide(s, cancel('g1'), later(2))).state;
    expect(s.status).toBe('cancelled');
    expect(s.settling).toBeUndefined();
    return s;
  }

  it('a step waiting for a person keeps waiting: nothing is dispatched, the run waits for the approval again', () => {
    const t = changed(decide(cancelledWhileWaiting(), resumeEv('g1', 'r1'), later(10)));
    expect(t.state.status).toBe('waiting_approval');
    expect(t.state.steps['draft']).toMatchObject({ status: 'dispatched', attempt: 1, approval: { approvalId: 'g1:draft:1' } });
    expect(sent(t, '.dispatch')).toEqual([]);
    expect(sent(t, '.run.resumed')[0]).toMatchObject({ steps: ['publish'] });
    // the person's decision now moves the run on
    const next = changed(decide(t.state, decision(), later(11)));
    expect(sent<StepCommand>(next, '.dispatch').map((c) => c.stepId)).toEqual(['publish']);
  });

  it('a decision made while the run was stopped is kept, and applied on resume', () => {
    const kept = changed(decide(cancelledWhileWaiting(), decision(), later(5))).state;
    const t = changed(decide(kept, resumeEv('g1', 'r1'), later(10)));
    expect(t.state.status).toBe('running');
    expect(t.state.steps['draft']).toMatchObject({ status: 'succeeded', output: 'the draft' });
    expect(t.state.steps['draft']?.approval).toBeUndefined();
    expect(sent<StepCommand>(t, '.dispatch').map((c) => [c.stepId, c.call.messages[0]?.content])).toEqual([['publish', 'Publish the draft']]);
    expect(t.decisions.map((d) => d.action)).toEqual(['resume', 'approval-approved', 'complete-step', 'dispatch']);
    // rejected while stopped: the resumed run fails at once, naming the approval
    const rejected = changed(decide(cancelledWhileWaiting(), decision({ decision: 'rejected', by: 'bob' }), later(5))).state;
    const r = changed(decide(rejected, resumeEv('g1', 'r1'), later(10)));
    expect(r.state).toMatchObject({ status: 'failed', reason: 'step draft: approval g1:draft:1 rejected by bob via api' });
    expect(sent(r, '.run.finished')).toHaveLength(1);
  });
});

describe('resume: agent steps continue from their history', () => {
  const agentPipeline = {
    name: 'support',
    tools: { lookup: { description: 'Find an order', input: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } } },
    steps: [{ id: 'agent', kind: 'agent', prompt: 'Help', tools: ['lookup'], maxIterations: 6, repeatLimit: 2 }],
  };
  const turn = (s: RunState, n: number, output: unknown, attempt = 1) => ({ ...completed(s, 'agent', output, attempt), task: 'agent-turn' as const, turn: n });
  const lookup = (id: string) => ({ action: 'tool', call: { id: `c-${id}`, name: 'lookup', arguments: { id } } });

  it('a tool call in flight when the run stopped is sent again as it was, under the same idempotency key', () => {
    let s = start('ag', agentPipeline);
    s = changed(decide(s, turn(s, 1, lookup('A-1')), later(1))).state;
    expect(s.steps['agent']?.agent?.pendingCall).toBeDefined();
    s = changed(decide(s, cancel('ag'), later(2))).state;
    s = changed(decide(s, { schemaVersion: SCHEMA_VERSION, type: 'step.revoked', runId: 'ag', stepId: 'agent', attempt: 1, task: 'tool', turn: 1, reason: 'x', inFlight: false, at: later(3).toISOString() }, later(3))).state;
    expect(s.status).toBe('cancelled');
    expect(s.settling).toBeUndefined();
    const t = changed(decide(s, resumeEv('ag', 'r1'), later(10)));
    expect(sent(t, '.dispatch')).toEqual([]); // no model turn: the call it chose is made
    const [tool] = sent<ToolCommand>(t, '.tool');
    expect(tool).toMatchObject({ attempt: 2, turn: 1, tool: 'lookup', arguments: { id: 'A-1' }, idempotencyKey: 'ag:agent:t1' });
    expect(t.messages.find((m) => m.subject.endsWith('.tool'))?.msgId).toBe('ag:agent=2=t1=tool:cmd');
    // its result feeds the next turn, of attempt 2, with the history
    const next = changed(decide(t.state, { ...turn(t.state, 1, { status: 'shipped' }, 2), task: 'tool' as const }, later(11)));
    const [cmd] = sent<StepCommand>(next, '.dispatch');
    expect(cmd).toMatchObject({ kind: 'agent-turn', attempt: 2, turn: 2 });
    expect(cmd!.call.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool']);
  });

  it('a step stopped by its repeat guard takes its turn again without the call it never made', () => {
    let s = start('ag', agentPipeline);
    s = changed(decide(s, turn(s, 1, lookup('A-1')), later(1))).state;
    s = changed(decide(s, { ...turn(s, 1, { ok: 1 }), task: 'tool' as const }, later(2))).state;
    const stopped = changed(decide(s, turn(s, 2, lookup('A-1')), later(3))).state; // the same call twice: repeatLimit 2
    expect(stopped).toMatchObject({ status: 'failed', reason: expect.stringContaining('guard: repeatLimit') });
    const t = changed(decide(stopped, resumeEv('ag', 'r1'), later(10)));
    const [cmd] = sent<StepCommand>(t, '.dispatch');
    expect(cmd).toMatchObject({ kind: 'agent-turn', attempt: 2, turn: 2 });
    // turn 1's call and result stay; turn 2's unanswered call is gone
    expect(cmd!.call.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool']);
  });
});
