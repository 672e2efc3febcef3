import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { checkPipeline, fromZodError, parseTemplate, publishedSchemas, renderJsonSchema, renderTemplate, RunRequest, TemplateError } from '../src/index.js';

describe('templates', () => {
  it('lists references and renders strings as they are and other values as JSON', () => {
    const t = 'Hi {{ input.name }}, see {{steps.a.output.items}}';
    const parsed = parseTemplate(t);
    expect(parsed).toEqual({ ok: true, refs: [{ path: 'input.name', segments: ['input', 'name'] }, { path: 'steps.a.output.items', segments: ['steps', 'a', 'output', 'items'] }] });
    expect(renderTemplate(t, { input: { name: 'Ada' }, steps: { a: { output: { items: [1, 2] } } } })).toBe('Hi Ada, see [1,2]');
  });
  it('refuses malformed tags and reports a missing value by path', () => {
    expect(parseTemplate('{{ input.a b }}')).toMatchObject({ ok: false });
    expect(parseTemplate('oops {{ input.a')).toMatchObject({ ok: false, message: expect.stringContaining('unbalanced') });
    expect(() => renderTemplate('{{input.missing}}', { input: {} })).toThrow(TemplateError);
  });
});

describe('issue paths', () => {
  it('names unknown fields and nested positions', () => {
    const r = RunRequest.safeParse({ schemaVersion: 1, pipeline: { name: 'x', steps: [{ id: 'a', prompt: 'p', tmeout: 1 }] } });
    expect(r.success).toBe(false);
    if (!r.success) expect(fromZodError(r.error).map((i) => i.path)).toContain('pipeline.steps[0].tmeout');
  });
  it('checkPipeline prefixes paths for embedding in a request', () => {
    const c = checkPipeline({ name: 'x', steps: [{ id: 'a', prompt: 'p' }] }, ['pipeline']);
    expect(c).toEqual({ ok: false, issues: [{ path: 'pipeline.steps[0].model', message: expect.stringContaining('no model') }] });
  });
});

describe('published JSON Schemas', () => {
  const ajv = new Ajv2020({ strict: false });
  const schema = JSON.parse(renderJsonSchema('run-request', RunRequest)) as Record<string, unknown>;
  const validate = ajv.compile(schema);
  const good = { schemaVersion: 1, runId: 'r-1', pipeline: { name: 'p', defaults: { model: 'm' }, steps: [{ id: 'a', prompt: 'x' }] }, input: {} };

  it('accept what zod accepts and refuse what zod refuses', () => {
    const cases: unknown[] = [good, { ...good, runId: 'has.dot' }, { ...good, schemaVersion: 2 }, { ...good, pipeline: { ...good.pipeline, steps: [] } }, { ...good, extra: 1 }];
    for (const c of cases) expect(validate(c), JSON.stringify(c)).toBe(RunRequest.safeParse(c).success);
  });
  it('covers every published message', () => {
    expect(Object.keys(publishedSchemas)).toEqual(expect.arrayContaining(['run-request', 'run-event', 'step-command', 'step-result', 'budget-reserve-request', 'approval-request', 'approval-decision']));
    for (const [name, s] of Object.entries(publishedSchemas)) expect(() => new Ajv2020({ strict: false }).compile(JSON.parse(renderJsonSchema(name, s)) as object), name).not.toThrow();
  });
});
