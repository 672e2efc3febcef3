import { describe, expect, it } from 'vitest';
import { admit } from '../src/index.js';
import { dagRequest } from './fixtures.js';

function issuesOf(mutate: (r: ReturnType<typeof dagRequest>) => void) {
  const r = dagRequest();
  mutate(r);
  const a = admit(r);
  if (a.ok) throw new Error('expected issues');
  return a.issues;
}

describe('admit', () => {
  it('accepts a valid DAG', () => {
    expect(admit(dagRequest())).toEqual({ ok: true });
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
