import { describe, expect, it } from 'vitest';
import { requestDigest, RunRequest, SCHEMA_VERSION, toolRegistration, type RunRequestInput } from '@pipewright/contracts';
import { admit, decide } from '../src/index.js';
import { dagRequest, later, T0 } from './fixtures.js';

function issuesOf(mutate: (r: ReturnType<typeof dagRequest>) => void) {
  const r = dagRequest();
  mutate(r);
  const a = admit(r, new Map());
  if (a.ok) throw new Error('expected issues');
  return a.issues;
}

describe('admit', () => {
  it('accepts a valid DAG', () => {
    const r = dagRequest();
    expect(admit(r, new Map())).toEqual({ ok: true, pipeline: r.pipeline });
  });
  it('refuses a cycle with the path of the step', () => {
    const issues = issuesOf((r) => (r.pipeline.steps[0]!.needs = ['d']));
    expect(issues[0]!.path).toBe('pipeline.steps[0].needs');
    expect(issues[0]!.message).toMatch(/cycle: a -> d -> b -> a|cycle/);
  });
  it('refuses an unknown step reference in needs', () => {
    const issues = issuesOf((r) => (r.pipeline.steps[1]!.needs = ['nope']));
    expect(issues).toEqual([{ path: 'pipeline.steps[1].needs[0]', message: 'unknown step "nope"' }]);
  });
  it('refuses a template field the input schema does not declare', () => {
    const issues = issuesOf((r) => (r.pipeline.steps[0]!.prompt = 'Outline {{input.subject}}'));
    expect(issues[0]!.path).toBe('pipeline.steps[0].prompt');
    expect(issues[0]!.message).toContain('"subject" is not a field of input');
  });
  it('refuses a template field the earlier step does not output', () => {
    const issues = issuesOf((r) => (r.pipeline.steps[1]!.prompt = 'x {{steps.a.output.summary}}'));
    expect(issues[0]!.message).toContain('"summary" is not a field of steps.a.output');
  });
  it('refuses a reference to a step that does not run before', () => {
    const issues = issuesOf((r) => (r.pipeline.steps[1]!.prompt = 'x {{steps.c.output}}'));
    expect(issues[0]!.message).toContain('not in this step\'s needs');
  });
  it('refuses input that breaks the input schema, naming the field', () => {
    const issues = issuesOf((r) => (r.input = { topic: 3 }));
    expect(issues[0]!.path).toBe('input.topic');
  });
  it('refuses a missing input field referenced by a template when no input schema is declared', () => {
    const issues = issuesOf((r) => {
      delete r.pipeline.input;
      r.input = {};
    });
    expect(issues).toEqual([{ path: 'input.topic', message: 'is required by steps[0].prompt' }]);
  });
  it('refuses a step without a model when there is no default', () => {
    const issues = issuesOf((r) => delete r.pipeline.defaults.model);
    expect(issues.map((i) => i.path)).toContain('pipeline.steps[0].model');
  });
  it('refuses duplicate step ids and an invalid output schema', () => {
    const issues = issuesOf((r) => {
      r.pipeline.steps[2]!.id = 'b';
      r.pipeline.steps[0]!.output = { type: 'no-such-type' };
    });
    expect(issues.map((i) => i.path)).toEqual(expect.arrayContaining(['pipeline.steps[2].id', 'pipeline.steps[0].output']));
  });
});

describe('admit: tools resolved from the registry, limits checked with the request\'s budget', () => {
  const input = { type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'] };
  const entry = toolRegistration({ schemaVersion: SCHEMA_VERSION, name: 'lookup', description: 'Finds an order', input, version: '1.0.0' }, T0);
  const request = (extra: Partial<RunRequestInput> = {}) =>
    RunRequest.parse({
      schemaVersion: SCHEMA_VERSION,
      runId: 'reg-1',
      pipeline: { name: 'support', defaults: { model: 'sim-small', maxOutputTokens: 500 }, steps: [{ id: 'agent', kind: 'agent', prompt: 'Help', tools: ['lookup'] }] },
      ...extra,
    });

  it('keeps the resolved tools in the run, and the digest of the request as submitted (a resubmit is the same run)', () => {
    const r = request();
    const a = admit(r, new Map([['lookup', entry]]));
    if (!a.ok) throw new Error(JSON.stringify(a.issues));
    const t = decide(undefined, { type: 'run.submitted', runId: 'reg-1', request: r, pipeline: a.pipeline }, T0);
    if (t.kind !== 'changed') throw new Error(t.kind);
    expect(t.state.pipeline.tools['lookup']).toEqual({ description: 'Finds an order', input });
    expect(r.pipeline.tools).toEqual({});
    expect(t.state.requestDigest).toBe(requestDigest(r));
    expect(decide(t.state, { type: 'run.submitted', runId: 'reg-1', request: r, pipeline: a.pipeline }, later(1))).toMatchObject({ kind: 'unchanged', reason: expect.stringContaining('the same request again') });
    // Another request for the run id lists what differs, not the tools the run resolved.
    const other = request({ input: { x: 1 } });
    const conflict = decide(t.state, { type: 'run.submitted', runId: 'reg-1', request: other, pipeline: a.pipeline }, later(2));
    expect(conflict.kind === 'unchanged' && conflict.reject?.issues.map((i) => i.path)).toEqual(['input.x']);
  });

  it('refuses an unregistered tool, and a request budget below the output cap, each with its path', () => {
    expect(admit(request(), new Map())).toMatchObject({ ok: false, issues: [{ path: 'pipeline.steps[0].tools[0]' }] });
    const capped = admit(request({ budget: { maxTokens: 499 } }), new Map([['lookup', entry]]));
    expect(capped).toMatchObject({ ok: false, issues: [{ path: 'budget.maxTokens', message: expect.stringContaining('below the output cap of step "agent" (500 tokens') }] });
  });
});
