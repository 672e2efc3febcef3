import { RunRequest, SCHEMA_VERSION, type RunState, type StepCommand, type ToolCommand } from '@pipewright/contracts';
import { describe, expect, it } from 'vitest';
import { decide, type Transition } from '../src/index.js';
import { historyMessages, trimHistory } from '../src/core/history.js';
import { later, T0 } from './fixtures.js';

const changed = (t: Transition) => {
  if (t.kind !== 'changed') throw new Error(`expected a change: ${t.reason}`);
  return t;
};

function agentRequest(extra: Record<string, unknown> = {}): RunRequest {
  return RunRequest.parse({
    schemaVersion: SCHEMA_VERSION,
    runId: 'ag-1',
    input: { order: 'A-1' },
    pipeline: {
      name: 'support',
      defaults: { model: 'sim-small' },
      tools: {
        lookup: { description: 'Find an order', input: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'], additionalProperties: false } },
        refund: { description: 'Refund an order', input: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } },
      },
      steps: [{ id: 'agent', kind: 'agent', prompt: 'Help with order {{input.order}}', tools: ['lookup'], maxIterations: 4, repeatLimit: 2, ...extra }],
    },
  });
}

const turnResult = (s: RunState, turn: number, output: unknown) => ({
  schemaVersion: SCHEMA_VERSION, type: 'step.completed' as const, task: 'agent-turn' as const, turn, runId: s.runId, stepId: 'agent', attempt: 1, calls: 1,
  usage: { inputTokens: 5, outputTokens: 5, totalTokens: 10 }, latencyMs: 1, at: T0.toISOString(), model: { provider: 'default', model: 'sim-small' }, output, rung: 'direct' as const,
});
const toolResult = (s: RunState, turn: number, output: unknown) => ({ ...turnResult(s, turn, output), task: 'tool' as const, model: { provider: 'tool', model: 'lookup' } });
const call = (name: string, args: unknown, id = 'c1') => ({ action: 'tool', call: { id, name, arguments: args } });

function start(extra?: Record<string, unknown>) {
  const t = changed(decide(undefined, { type: 'run.submitted', runId: 'ag-1', request: agentRequest(extra) }, T0));
  const cmd = t.messages.find((m) => m.subject === 'pw.steps.default.dispatch')!.payload as StepCommand;
  return { state: t.state, cmd, t };
}

describe('agent steps', () => {
  it('offers the declared tools on the first turn', () => {
    const { cmd, state } = start();
    expect(cmd).toMatchObject({ kind: 'agent-turn', turn: 1, tools: [{ name: 'lookup', description: 'Find an order' }] });
    expect(cmd.call.messages).toEqual([{ role: 'user', content: 'Help with order A-1' }]);
    expect(state.steps['agent']?.agent).toEqual({ turn: 1, history: [], actionCounts: {} });
  });

  it('runs a tool call, feeds its result back, and finishes on the final answer', () => {
    let { state } = start();
    const t1 = changed(decide(state, turnResult(state, 1, call('lookup', { id: 'A-1' })), later(1)));
    const tool = t1.messages.find((m) => m.subject === 'pw.steps.default.tool')!.payload as ToolCommand;
    expect(tool).toMatchObject({ kind: 'tool', tool: 'lookup', arguments: { id: 'A-1' }, idempotencyKey: 'ag-1:agent:t1', callId: 't1', turn: 1 });
    state = t1.state;
    const t2 = changed(decide(state, toolResult(state, 1, { status: 'shipped' }), later(2)));
    const next = t2.messages.find((m) => m.subject === 'pw.steps.default.dispatch')!.payload as StepCommand;
    expect(next.turn).toBe(2);
    expect(next.call.messages.slice(1)).toEqual([
      { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'lookup', arguments: { id: 'A-1' } }] },
      { role: 'tool', toolCallId: 'c1', content: '{"status":"shipped"}' },
    ]);
    // a duplicate tool result changes nothing
    expect(decide(t2.state, toolResult(t2.state, 1, { status: 'shipped' }), later(3)).kind).toBe('unchanged');
    const t3 = changed(decide(t2.state, turnResult(t2.state, 2, { action: 'final', output: 'It shipped.' }), later(4)));
    expect(t3.state.status).toBe('succeeded');
    expect(t3.state.output).toBe('It shipped.');
    expect(t3.decisions.map((d) => d.action)).toEqual(['complete-step', 'finish']);
  });

  it('refuses a tool outside the declared set and invalid arguments, without running them', () => {
    let { state } = start();
    const t1 = changed(decide(state, turnResult(state, 1, call('refund', { id: 'A-1' })), later(1)));
    expect(t1.messages.some((m) => m.subject.endsWith('.tool'))).toBe(false);
    expect(t1.decisions[0]).toMatchObject({ action: 'refuse-tool', reason: expect.stringContaining('"refund" is not available') });
    state = t1.state;
    const t2 = changed(decide(state, turnResult(state, 2, call('lookup', { id: 7 }, 'c2')), later(2)));
    expect(t2.decisions[0]).toMatchObject({ action: 'refuse-tool', reason: expect.stringContaining('arguments.id') });
    const next = t2.messages.find((m) => m.subject.endsWith('.dispatch'))!.payload as StepCommand;
    expect(next.call.messages.at(-1)).toMatchObject({ role: 'tool', toolCallId: 'c2', content: expect.stringContaining('invalid arguments') });
  });

  it('stops an agent that repeats one action, with its partial result (guard: repeatLimit)', () => {
    let { state } = start();
    state = changed(decide(state, turnResult(state, 1, call('lookup', { id: 'A-1' })), later(1))).state;
    state = changed(decide(state, toolResult(state, 1, { status: 'shipped' }), later(2))).state;
    const t = changed(decide(state, turnResult(state, 2, call('lookup', { id: 'A-1' }, 'c2')), later(3)));
    expect(t.state.status).toBe('failed');
    expect(t.state.reason).toContain('guard: repeatLimit');
    const fin = t.messages.find((m) => m.subject.endsWith('run.finished'))!.payload as { partial: Record<string, { agentTurns: number }> };
    expect(fin.partial['agent']?.agentTurns).toBe(2);
  });

  it('stops after maxIterations turns (guard: maxIterations)', () => {
    let { state } = start({ maxIterations: 2, repeatLimit: 10 });
    state = changed(decide(state, turnResult(state, 1, call('nope', {})), later(1))).state;
    const t = changed(decide(state, turnResult(state, 2, call('nope', {}, 'c2')), later(2)));
    expect(t.state.status).toBe('failed');
    expect(t.state.reason).toContain('guard: maxIterations');
  });

  it('refuses at submit an agent that names a tool neither declared nor registered', async () => {
    const { admit } = await import('../src/index.js');
    const r = agentRequest();
    (r.pipeline.steps[0] as { tools: string[] }).tools = ['lookup', 'wire-money'];
    expect(admit(r, new Map())).toEqual({
      ok: false,
      issues: [{ path: 'pipeline.steps[0].tools[1]', message: 'tool "wire-money" is not registered (no running tool has registered under this name) and the pipeline does not give its schema' }],
    });
  });
});

describe('trimHistory', () => {
  it('drops the oldest turns first and says so, keeping the newest', () => {
    const turn = (i: number) => [
      { role: 'assistant' as const, content: '', toolCalls: [{ id: `c${i}`, name: 'lookup', arguments: { id: 'x'.repeat(200) } }] },
      { role: 'tool' as const, toolCallId: `c${i}`, content: 'y'.repeat(400) },
    ];
    const history = [1, 2, 3, 4, 5].flatMap(turn);
    const trimmed = trimHistory(history, 400);
    expect(trimmed.kept.at(-1)).toMatchObject({ toolCallId: 'c5' });
    expect(trimmed.kept.length).toBeLessThan(history.length);
    expect(trimmed.dropped).toBe((history.length - trimmed.kept.length) / 2);
    expect(historyMessages(trimmed.kept, trimmed.dropped)[0]).toMatchObject({ role: 'user', content: expect.stringContaining(`${trimmed.dropped} earlier tool call(s) omitted`) });
    expect(trimHistory(history, 100_000)).toEqual({ kept: history, dropped: 0 });
    // trimming what was kept again drops nothing more: the stored history is already within budget
    expect(trimHistory(trimmed.kept, 400)).toEqual({ kept: trimmed.kept, dropped: 0 });
  });
});
