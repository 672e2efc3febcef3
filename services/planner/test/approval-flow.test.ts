import { RunRequest, SCHEMA_VERSION, type ApprovalDecision, type ApprovalRequest, type RunState, type StepCommand, type ToolCommand } from '@pipewright/contracts';
import { describe, expect, it } from 'vitest';
import { decide, type Transition } from '../src/index.js';
import { completed, later, T0 } from './fixtures.js';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

function changed(t: Transition): Extract<Transition, { kind: 'changed' }> {
  if (t.kind !== 'changed') throw new Error(`expected a change, got: ${t.reason}`);
  return t;
}
type Changed = Extract<Transition, { kind: 'changed' }>;
const sent = <T>(t: Changed, suffix: string) => t.messages.filter((m) => m.subject.endsWith(suffix)).map((m) => m.payload as T);
const approvalRequests = (t: Changed) => t.messages.filter((m) => m.subject === 'pw.approvals.request');

function start(pipeline: Record<string, unknown>): RunState {
  const request = RunRequest.parse({ schemaVersion: SCHEMA_VERSION, runId: 'run-1', input: {}, pipeline: { name: 'gated', defaults: { model: 'sim-small' }, ...pipeline } });
  return changed(decide(undefined, { type: 'run.submitted', runId: 'run-1', request, traceparent: TRACEPARENT }, T0)).state;
}

function decision(approvalId: string, stepId: string, over: Partial<ApprovalDecision> = {}): ApprovalDecision {
  return { schemaVersion: SCHEMA_VERSION, type: 'approval.decided', approvalId, runId: 'run-1', stepId, decision: 'approved', by: 'alice', via: 'api', at: T0.toISOString(), ...over };
}

const gatedDag = {
  steps: [
    { id: 'draft', prompt: 'Draft', approval: { always: true, timeoutMs: 60_000, onTimeout: 'escalate', escalation: { to: 'leads' } } },
    { id: 'publish', needs: ['draft'], prompt: 'Publish {{steps.draft.output}}' },
  ],
};

describe('output gates (approval.always, confidence, cost on a step)', () => {
  function gated() {
    const s0 = start(gatedDag);
    const t = changed(decide(s0, { ...completed(s0, 'draft', 'the draft'), costUsd: 0.25 }, later(10)));
    return t;
  }

  it('holds the output: requests approval, waits, dispatches nothing, and records why', () => {
    const t = gated();
    expect(t.state.status).toBe('waiting_approval');
    expect(t.state.steps['draft']).toMatchObject({ status: 'dispatched', approval: { approvalId: 'run-1:draft:1', kind: 'step', output: 'the draft' } });
    expect(t.state.costUsd).toBe(0.25); // the step's work is paid for, whatever the decision
    expect(sent<StepCommand>(t, '.dispatch')).toEqual([]);
    const [req] = approvalRequests(t);
    expect(req?.msgId).toBe('run-1:draft:1');
    expect(req?.payload as ApprovalRequest).toMatchObject({
      approvalId: 'run-1:draft:1',
      stepId: 'draft',
      pipeline: 'gated',
      action: { kind: 'step', arguments: 'the draft' }, // the output, for the person to read
      reason: 'step draft always needs approval (approval.always)',
      costSoFarUsd: 0.25,
      traceId: '0af7651916cd43dd8448eb211c80319c',
      timeoutMs: 60_000,
      onTimeout: 'escalate',
      escalation: { to: 'leads' },
    });
    expect(sent<{ type: string }>(t, '.approval.requested')[0]).toMatchObject({ type: 'approval.requested', approvalId: 'run-1:draft:1' });
    expect(t.decisions.map((d) => d.action)).toEqual(['request-approval']);
    // a redelivered result changes nothing while it waits
    expect(decide(t.state, completed(t.state, 'draft', 'the draft'), later(11))).toMatchObject({ kind: 'unchanged', reason: expect.stringContaining('waits for approval') });
  });

  it('approved: the output is accepted and the DAG moves on with it', () => {
    const t = changed(decide(gated().state, decision('run-1:draft:1', 'draft'), later(20)));
    expect(t.state.status).toBe('running');
    expect(t.state.steps['draft']).toMatchObject({ status: 'succeeded', output: 'the draft' });
    expect(t.state.steps['draft']?.approval).toBeUndefined();
    expect(sent<StepCommand>(t, '.dispatch').map((c) => [c.stepId, c.call.messages[0]?.content])).toEqual([['publish', 'Publish the draft']]);
    expect(t.decisions.map((d) => d.action)).toEqual(['approval-approved', 'complete-step', 'dispatch']);
    // the same decision again (a redelivery) is ignored with a reason
    expect(decide(t.state, decision('run-1:draft:1', 'draft'), later(21))).toMatchObject({ kind: 'unchanged', reason: expect.stringContaining('not waiting for it') });
  });

  it('rejected: the run fails, naming the approval and who rejected it', () => {
    const t = changed(decide(gated().state, decision('run-1:draft:1', 'draft', { decision: 'rejected', by: 'bob', via: 'inbox', reason: 'off-brand' }), later(20)));
    expect(t.state.status).toBe('failed');
    expect(t.state.reason).toBe('step draft: approval run-1:draft:1 rejected by bob via inbox: off-brand');
    expect(t.state.steps['draft']).toMatchObject({ status: 'failed', error: { code: 'approval_rejected' } });
    expect(sent<StepCommand>(t, '.dispatch')).toEqual([]);
  });

  it('ignores decisions for another approval or an unknown step; on a finished run it keeps the decision for a resume, and acts on nothing', () => {
    const s = gated().state;
    expect(decide(s, decision('run-1:draft:7', 'draft'), later(20)).kind).toBe('unchanged');
    expect(decide(s, decision('run-1:nope:1', 'nope'), later(20)).kind).toBe('unchanged');
    const cancelled = changed(decide(s, { type: 'run.cancel', runId: 'run-1', reason: 'user' }, later(20))).state;
    const kept = changed(decide(cancelled, decision('run-1:draft:1', 'draft'), later(21)));
    expect(kept.state.status).toBe('cancelled');
    expect(kept.state.steps['draft']?.approval?.decided).toMatchObject({ approvalId: 'run-1:draft:1', decision: 'approved' });
    expect(kept.decisions.map((d) => d.action)).toEqual(['keep-decision']);
    expect(sent<StepCommand>(kept, '.dispatch')).toEqual([]);
    // delivered again: already kept
    expect(decide(kept.state, decision('run-1:draft:1', 'draft'), later(22)).kind).toBe('unchanged');
  });

  it('a run waiting for approval still runs its other branches, and only finishes once the output is accepted', () => {
    let s = start({ steps: [{ id: 'a', prompt: 'A', approval: { always: true } }, { id: 'b', prompt: 'B' }] });
    s = changed(decide(s, completed(s, 'a', 'A!'), later(1))).state;
    const tb = changed(decide(s, completed(s, 'b', 'B!'), later(2)));
    expect(tb.state.status).toBe('waiting_approval');
    const end = changed(decide(tb.state, decision('run-1:a:1', 'a', { decision: 'approved', by: 'timeout', via: 'timeout' }), later(3)));
    expect(end.state.status).toBe('succeeded');
  });

  it('paused wins over waiting_approval, and the run goes back to waiting when the provider answers', () => {
    let s = start({ steps: [{ id: 'a', prompt: 'A', approval: { always: true } }, { id: 'b', prompt: 'B' }] });
    s = changed(decide(s, completed(s, 'a', 'A!'), later(1))).state;
    const parked = { schemaVersion: SCHEMA_VERSION, type: 'step.parked' as const, runId: 'run-1', stepId: 'b', attempt: 1, reason: 'every model is down', retryAt: later(60_000).toISOString(), at: later(2).toISOString() };
    s = changed(decide(s, parked, later(2))).state;
    expect(s.status).toBe('paused');
    const back = changed(decide(s, completed(s, 'b', 'B!'), later(3)));
    expect(back.state.status).toBe('waiting_approval');
    expect(back.state.reason).toBe('waiting for approval: run-1:a:1');
  });

  it('sends a large output as a preview, and keeps it whole in the run state', () => {
    const s = start({ steps: [{ id: 'a', prompt: 'A', approval: { always: true } }] });
    const big = 'x'.repeat(40_000);
    const t = changed(decide(s, completed(s, 'a', big), later(1)));
    const shown = (approvalRequests(t)[0]?.payload as ApprovalRequest).action.arguments as string;
    expect(shown.length).toBeLessThan(16_100);
    expect(shown).toMatch(/40002 characters; the whole output is in the run state\)$/);
    expect(t.state.steps['a']?.approval?.output).toBe(big);
  });

  it('confidence and cost gates on an llm step', () => {
    const out = { type: 'object', properties: { text: { type: 'string' }, confidence: { type: 'number' } } };
    let s = start({ steps: [{ id: 'a', prompt: 'A', output: out, approval: { confidenceBelow: 0.6 } }, { id: 'b', prompt: 'B', approval: { costAboveUsd: 1 } }] });
    const ta = changed(decide(s, completed(s, 'a', { text: 'sure?', confidence: 0.4, reasoning: 'thin sources' }), later(1)));
    expect(approvalRequests(ta)[0]?.payload).toMatchObject({ confidence: 0.4, reasoning: 'thin sources', reason: 'confidence 0.4 < 0.6 (approval.confidenceBelow)' });
    s = ta.state;
    const tb = changed(decide(s, { ...completed(s, 'b', 'cheap'), costUsd: 0.5 }, later(2)));
    expect(approvalRequests(tb)).toEqual([]); // $0.50 is not above $1
    const s2 = start({ steps: [{ id: 'b', prompt: 'B', approval: { costAboveUsd: 1 } }] });
    const tc = changed(decide(s2, { ...completed(s2, 'b', 'pricey'), costUsd: 1.5 }, later(2)));
    expect(approvalRequests(tc)[0]?.payload).toMatchObject({ reason: 'run cost $1.5 > $1 (approval.costAboveUsd)', costSoFarUsd: 1.5 });
  });
});

describe('tool gates (approval.tools on an agent step)', () => {
  const refundSchema = { type: 'object', properties: { id: { type: 'string' }, amountUsd: { type: 'number', maximum: 500 } }, required: ['id', 'amountUsd'] };
  const agentPipeline = {
    tools: { lookup: { description: 'Find', input: { type: 'object' } }, refund: { description: 'Refund', input: refundSchema } },
    steps: [{ id: 'agent', kind: 'agent', prompt: 'Help', tools: ['lookup', 'refund'], approval: { tools: ['refund'] } }],
  };
  const turn = (s: RunState, n: number, output: unknown) => ({ ...completed(s, 'agent', output), task: 'agent-turn' as const, turn: n });
  const refund = { action: 'tool', call: { id: 'call-9', name: 'refund', arguments: { id: 'A-1', amountUsd: 120 } }, reasoning: 'damaged', confidence: 0.8 };

  function held() {
    const s = start(agentPipeline);
    return changed(decide(s, turn(s, 1, refund), later(1)));
  }

  it('holds the call before dispatch and asks with the arguments, their schema, reasoning and confidence', () => {
    const t = held();
    expect(sent(t, '.tool')).toEqual([]);
    expect(t.state.status).toBe('waiting_approval');
    expect(approvalRequests(t)[0]?.payload).toMatchObject({
      approvalId: 'run-1:agent:1:t1',
      action: { kind: 'tool', tool: 'refund', arguments: { id: 'A-1', amountUsd: 120 } },
      argumentsSchema: refundSchema,
      reason: 'tool refund needs approval (approval.tools)',
      reasoning: 'damaged',
      confidence: 0.8,
    });
    expect(decide(t.state, turn(t.state, 1, refund), later(2)).kind).toBe('unchanged');
  });

  it('a turn that had parked and now proposes a gated call waits for approval, not for the provider', () => {
    const s = start(agentPipeline);
    const parked = changed(decide(s, { schemaVersion: SCHEMA_VERSION, type: 'step.parked', runId: 'run-1', stepId: 'agent', attempt: 1, turn: 1, reason: 'budget service unreachable', retryAt: later(5).toISOString(), at: later(1).toISOString(), costUsd: 0.01, usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 } }, later(1)));
    expect(parked.state.status).toBe('paused');
    expect(parked.state.costUsd).toBe(0.01); // what the parked delivery spent is the run's
    const t = changed(decide(parked.state, turn(parked.state, 1, refund), later(2)));
    expect(t.state.status).toBe('waiting_approval');
    expect(t.state.steps['agent']?.parkedAt).toBeUndefined();
    const approved = changed(decide(t.state, decision('run-1:agent:1:t1', 'agent'), later(3)));
    expect(approved.state.status).toBe('running');
    expect(sent<ToolCommand>(approved, '.tool').map((c) => c.tool)).toEqual(['refund']);
  });

  it('a tool not named in the policy runs at once', () => {
    const s = start(agentPipeline);
    const t = changed(decide(s, turn(s, 1, { action: 'tool', call: { id: 'c', name: 'lookup', arguments: {} } }), later(1)));
    expect(sent<ToolCommand>(t, '.tool').map((c) => c.tool)).toEqual(['lookup']);
    expect(approvalRequests(t)).toEqual([]);
  });

  it('approved: dispatches the held call with the idempotency key it would have had', () => {
    const t = changed(decide(held().state, decision('run-1:agent:1:t1', 'agent'), later(2)));
    expect(t.state.status).toBe('running');
    const [cmd] = sent<ToolCommand>(t, '.tool');
    expect(cmd).toMatchObject({ tool: 'refund', arguments: { id: 'A-1', amountUsd: 120 }, idempotencyKey: 'run-1:agent:t1', callId: 't1' });
    expect(t.messages.find((m) => m.subject.endsWith('.tool'))?.msgId).toBe('run-1:agent=1=t1=tool:cmd');
  });

  it('edited: dispatches once with the edited arguments, same msg id and key; the history shows them', () => {
    const h = held();
    const t = changed(decide(h.state, decision('run-1:agent:1:t1', 'agent', { decision: 'edited', arguments: { id: 'A-1', amountUsd: 60 } }), later(2)));
    const cmds = sent<ToolCommand>(t, '.tool');
    expect(cmds).toHaveLength(1);
    expect(cmds[0]).toMatchObject({ arguments: { id: 'A-1', amountUsd: 60 }, idempotencyKey: 'run-1:agent:t1' });
    expect(t.messages.find((m) => m.subject.endsWith('.tool'))?.msgId).toBe('run-1:agent=1=t1=tool:cmd');
    expect(t.state.steps['agent']?.agent?.history.at(-1)).toMatchObject({ role: 'assistant', toolCalls: [{ arguments: { id: 'A-1', amountUsd: 60 } }] });
    expect(t.decisions[0]).toMatchObject({ action: 'approval-edited', reason: 'approval run-1:agent:1:t1 edited by alice via api' });
    // the decision redelivered: nothing is dispatched again
    expect(decide(t.state, decision('run-1:agent:1:t1', 'agent', { decision: 'edited', arguments: { id: 'A-1', amountUsd: 60 } }), later(3)).kind).toBe('unchanged');
  });

  it('edited with arguments that break the schema: not run; the model is told', () => {
    const t = changed(decide(held().state, decision('run-1:agent:1:t1', 'agent', { decision: 'edited', arguments: { id: 'A-1', amountUsd: 900 } }), later(2)));
    expect(sent(t, '.tool')).toEqual([]);
    const next = sent<StepCommand>(t, '.dispatch')[0]!;
    expect(next.call.messages.at(-1)).toMatchObject({ role: 'tool', toolCallId: 'call-9', content: expect.stringContaining('arguments.amountUsd') });
  });

  it('rejected: the call never runs and the rejection goes back to the model as the tool error', () => {
    const t = changed(decide(held().state, decision('run-1:agent:1:t1', 'agent', { decision: 'rejected', by: 'timeout', via: 'timeout', reason: 'no decision within 60000 ms' }), later(2)));
    expect(sent(t, '.tool')).toEqual([]);
    const next = sent<StepCommand>(t, '.dispatch')[0]!;
    expect(next.turn).toBe(2);
    expect(next.call.messages.at(-1)).toMatchObject({ role: 'tool', toolCallId: 'call-9', content: expect.stringMatching(/^error: approval_rejected: .*rejected by timeout via timeout: no decision within 60000 ms/) });
    expect(t.state.status).toBe('running');
  });

  it("gates an agent's final answer with always, and accepts it on approval", () => {
    const s = start({ ...agentPipeline, steps: [{ id: 'agent', kind: 'agent', prompt: 'Help', tools: ['lookup'], approval: { always: true } }] });
    const t = changed(decide(s, turn(s, 1, { action: 'final', output: { reply: 'done' } }), later(1)));
    expect(approvalRequests(t)[0]?.payload).toMatchObject({ approvalId: 'run-1:agent:1', action: { kind: 'step' } });
    const end = changed(decide(t.state, decision('run-1:agent:1', 'agent'), later(2)));
    expect(end.state).toMatchObject({ status: 'succeeded', output: { reply: 'done' } });
  });

  it('the run deadline still applies when the decision comes late', () => {
    const t = changed(decide(held().state, decision('run-1:agent:1:t1', 'agent'), later(3_600_001)));
    expect(t.state.status).toBe('timed_out');
    expect(sent(t, '.tool')).toEqual([]);
  });
});
