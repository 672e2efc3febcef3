import { checkPipeline, effectiveApproval, PipelineSpec, type RunState } from '@pipewright/contracts';
import { describe, expect, it } from 'vitest';
import { approvalIds, confidenceOf, gateOutput, gateTool, traceIdOf } from '../src/core/approval-policy.js';

const TOOLS = {
  lookup: { description: 'Find an order', input: { type: 'object', properties: { id: { type: 'string' } } } },
  refund: { description: 'Refund an order', input: { type: 'object', properties: { id: { type: 'string' }, amountUsd: { type: 'number' } } } },
};
const graded = { type: 'object', properties: { text: { type: 'string' }, confidence: { type: 'number' } }, required: ['text'] };

function spec(over: Record<string, unknown> = {}, steps?: unknown[]): Record<string, unknown> {
  return {
    name: 'gated',
    defaults: { model: 'sim-small' },
    tools: TOOLS,
    steps: steps ?? [
      { id: 'draft', prompt: 'Draft', output: graded },
      { id: 'act', kind: 'agent', needs: ['draft'], prompt: 'Act', tools: ['lookup', 'refund'] },
    ],
    ...over,
  };
}

/** A run state just big enough for the matchers: the spec and the cost so far. */
function state(raw: Record<string, unknown>, costUsd = 0): RunState {
  return { pipeline: PipelineSpec.parse(raw), costUsd } as unknown as RunState;
}
const step = (s: RunState, id: string) => s.pipeline.steps.find((x) => x.id === id)!;
const call = (name: string) => ({ id: 'c1', name, arguments: { id: 'A-1' } });

describe('approval policies: resolution', () => {
  it('merges the defaults with a step field by field, keeps only tools the step offers, and `false` opts out', () => {
    const s = state(spec({ defaults: { model: 'sim-small', approval: { tools: ['refund', 'lookup'], timeoutMs: 60_000, onTimeout: 'approve' } } }, [
      { id: 'draft', prompt: 'Draft', output: graded, approval: { confidenceBelow: 0.5 } },
      { id: 'act', kind: 'agent', prompt: 'Act', tools: ['refund'], approval: { onTimeout: 'reject' } },
      { id: 'quiet', kind: 'agent', prompt: 'Act', tools: ['refund'], approval: false },
    ]));
    expect(effectiveApproval(s.pipeline, step(s, 'draft'))).toEqual({ always: false, tools: [], confidenceBelow: 0.5, timeoutMs: 60_000, onTimeout: 'approve' });
    expect(effectiveApproval(s.pipeline, step(s, 'act'))).toEqual({ always: false, tools: ['refund'], timeoutMs: 60_000, onTimeout: 'reject' });
    expect(effectiveApproval(s.pipeline, step(s, 'quiet'))).toBeUndefined();
  });

  it('has no policy when nothing can ask, whatever the timeout fields say', () => {
    const s = state(spec({ defaults: { model: 'sim-small', approval: { timeoutMs: 1000, onTimeout: 'reject' } } }));
    expect(effectiveApproval(s.pipeline, step(s, 'draft'))).toBeUndefined();
  });
});

describe('approval policies: matching', () => {
  it('always: every output of the step', () => {
    const s = state(spec({}, [{ id: 'draft', prompt: 'Draft', approval: { always: true } }]));
    expect(gateOutput(s, step(s, 'draft'), 'any text')?.reasons).toEqual(['step draft always needs approval (approval.always)']);
  });

  it('tools: a call of a named tool is held, other tools run', () => {
    const s = state(spec({}, [{ id: 'act', kind: 'agent', prompt: 'Act', tools: ['lookup', 'refund'], approval: { tools: ['refund'] } }]));
    expect(gateTool(s, step(s, 'act'), call('refund'))?.reasons).toEqual(['tool refund needs approval (approval.tools)']);
    expect(gateTool(s, step(s, 'act'), call('lookup'))).toBeUndefined();
    // a tool policy does not gate the agent's final answer
    expect(gateOutput(s, step(s, 'act'), { text: 'done' })).toBeUndefined();
  });

  it('confidence: below the threshold asks, at or above it does not, and an unreported confidence does not', () => {
    const s = state(spec({}, [{ id: 'draft', prompt: 'Draft', output: graded, approval: { confidenceBelow: 0.7 } }]));
    const d = step(s, 'draft');
    expect(gateOutput(s, d, { text: 'x', confidence: 0.42 })).toMatchObject({ confidence: 0.42, reasons: ['confidence 0.42 < 0.7 (approval.confidenceBelow)'] });
    expect(gateOutput(s, d, { text: 'x', confidence: 0.7 })).toBeUndefined();
    expect(gateOutput(s, d, { text: 'x' })).toBeUndefined();
    expect(gateOutput(s, d, { text: 'x', confidence: 7 })).toBeUndefined(); // out of [0, 1]: not a confidence
    expect(gateOutput(s, d, 'plain text')).toBeUndefined();
  });

  it("confidence of an agent: the action's own wins over the output's, and a tool call uses only the action's", () => {
    const s = state(spec({}, [{ id: 'act', kind: 'agent', prompt: 'Act', tools: ['lookup'], approval: { confidenceBelow: 0.5 } }]));
    const a = step(s, 'act');
    expect(gateOutput(s, a, { confidence: 0.9 }, 0.3)?.confidence).toBe(0.3);
    expect(gateOutput(s, a, { confidence: 0.3 })?.confidence).toBe(0.3);
    expect(gateTool(s, a, call('lookup'), 0.2)?.reasons).toEqual(['confidence 0.2 < 0.5 (approval.confidenceBelow)']);
    expect(gateTool(s, a, call('lookup'))).toBeUndefined();
    expect(confidenceOf({ confidence: '0.1' })).toBeUndefined();
  });

  it("cost: the run's cost so far above the amount asks, and every matching trigger is named", () => {
    const raw = spec({}, [{ id: 'act', kind: 'agent', prompt: 'Act', tools: ['refund'], approval: { costAboveUsd: 0.5, tools: ['refund'] } }]);
    expect(gateTool(state(raw, 0.5), step(state(raw), 'act'), call('refund'))?.reasons).toHaveLength(1);
    const m = gateTool(state(raw, 0.75), step(state(raw), 'act'), call('refund'));
    expect(m).toMatchObject({ costSoFarUsd: 0.75, reasons: ['tool refund needs approval (approval.tools)', 'run cost $0.75 > $0.5 (approval.costAboveUsd)'] });
  });

  it('builds approval ids by convention and reads trace ids from a traceparent', () => {
    expect(approvalIds.output('r1', 'draft', 2)).toBe('r1:draft:2');
    expect(approvalIds.tool('r1', 'act', 1, 3)).toBe('r1:act:1:t3');
    expect(traceIdOf('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(traceIdOf('garbage')).toBeUndefined();
    expect(traceIdOf(undefined)).toBeUndefined();
  });
});

describe('approval policies: checked at submit with the field path', () => {
  const issues = (raw: Record<string, unknown>) => {
    const r = checkPipeline(raw, ['pipeline']);
    return r.ok ? [] : r.issues;
  };

  it('accepts a pipeline with valid policies', () => {
    expect(issues(spec({ defaults: { model: 'sim-small', approval: { tools: ['refund'], timeoutMs: 1000, onTimeout: 'escalate', escalation: { to: 'leads' } } } }))).toEqual([]);
  });

  it('refuses a tool the step does not offer, a tool on an llm step, and an undeclared tool in defaults', () => {
    expect(issues(spec({}, [{ id: 'act', kind: 'agent', prompt: 'Act', tools: ['lookup'], approval: { tools: ['refund'] } }]))).toEqual([
      { path: 'pipeline.steps[0].approval.tools[0]', message: 'tool "refund" is not one of this step\'s tools (lookup)' },
    ]);
    expect(issues(spec({}, [{ id: 'draft', prompt: 'Draft', approval: { tools: ['refund'] } }]))[0]?.path).toBe('pipeline.steps[0].approval.tools[0]');
    expect(issues(spec({ defaults: { model: 'sim-small', approval: { tools: ['wire'] } } }))).toEqual([
      { path: 'pipeline.defaults.approval.tools[0]', message: 'tool "wire" is neither declared in the pipeline\'s tools nor offered by an agent step' },
    ]);
    // A registered tool need not be declared: an agent step offering it is enough.
    expect(issues(spec({ defaults: { model: 'sim-small', approval: { tools: ['wire'] } } }, [{ id: 'act', kind: 'agent', prompt: 'Act', tools: ['wire'] }]))).toEqual([]);
  });

  it('refuses escalate without escalation.to, and a timeout action without a timeout, where they were set', () => {
    expect(issues(spec({}, [{ id: 'draft', prompt: 'Draft', approval: { always: true, timeoutMs: 1000, onTimeout: 'escalate' } }]))).toEqual([
      { path: 'pipeline.steps[0].approval.escalation', message: 'onTimeout "escalate" needs escalation.to' },
    ]);
    const fromDefaults = issues(spec({ defaults: { model: 'sim-small', approval: { onTimeout: 'approve' } } }, [
      { id: 'a', prompt: 'A', approval: { always: true } },
      { id: 'b', prompt: 'B', approval: { always: true } },
    ]));
    expect(fromDefaults).toEqual([{ path: 'pipeline.defaults.approval.onTimeout', message: expect.stringContaining('needs timeoutMs') }]);
    expect(issues(spec({}, [{ id: 'draft', prompt: 'Draft', approval: { always: true, escalation: {} } }]))[0]?.path).toBe('pipeline.steps[0].approval.escalation.to');
  });

  it('refuses a confidence threshold on an llm step whose output has no confidence field', () => {
    expect(issues(spec({}, [{ id: 'draft', prompt: 'Draft', approval: { confidenceBelow: 0.5 } }]))[0]?.path).toBe('pipeline.steps[0].approval.confidenceBelow');
    const noField = { type: 'object', properties: { text: { type: 'string' } } };
    expect(issues(spec({}, [{ id: 'draft', prompt: 'Draft', output: noField, approval: { confidenceBelow: 0.5 } }]))).toEqual([
      { path: 'pipeline.steps[0].approval.confidenceBelow', message: 'the output schema of step "draft" declares no "confidence" field' },
    ]);
    expect(issues(spec({}, [{ id: 'draft', prompt: 'Draft', approval: { confidenceBelow: 1.5 } }]))[0]?.path).toBe('pipeline.steps[0].approval.confidenceBelow');
  });
});
