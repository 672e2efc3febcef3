import { describe, expect, it } from 'vitest';
import { checkPipeline, jsonDepth, MAX_JSON_DEPTH, parseJsonBounded, publishedSchemas, renderJsonSchema, RunRequest, shallowFields, StepCompleted } from '../src/index.js';

/** What every boundary relies on: unknown fields are errors that name the field, and depth is bounded. */
describe('strict contracts', () => {
  const pipeline = (model: unknown) => ({ name: 'p', steps: [{ id: 'a', prompt: 'hi', model }] });

  it('refuses an unknown field in a model object, naming it', () => {
    const r = checkPipeline(pipeline({ provder: 'azure', model: 'gpt-4o' }));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues).toEqual([{ path: 'steps[0].model.provder', message: 'unknown field' }]);
    expect(checkPipeline(pipeline({ provider: 'azure', model: 'gpt-4o' })).ok).toBe(true);
  });

  it('refuses unknown fields in nested message objects', () => {
    const request = RunRequest.safeParse({ schemaVersion: 1, pipeline: { name: 'p', steps: [{ id: 'a', prompt: 'hi' }], limits: { maxSteps: 3, maxStep: 4 } } });
    expect(request.success).toBe(false);
    const completed = {
      schemaVersion: 1, type: 'step.completed', runId: 'r1', stepId: 'a', attempt: 1, task: 'step', at: new Date().toISOString(), output: 'x',
      usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 }, durationMs: 1,
      spend: [{ reservationId: 'res', model: { provider: 'default', model: 'm' }, usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 }, extra: 1 }],
    };
    const parsed = StepCompleted.safeParse(completed);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.code)).toContain('unrecognized_keys');
  });

  it('publishes JSON Schemas in which every object with properties refuses additional ones', () => {
    let objects = 0;
    const walk = (n: unknown, at: string): void => {
      if (typeof n !== 'object' || n === null) return;
      const o = n as Record<string, unknown>;
      if (o['type'] === 'object' && o['properties']) {
        objects++;
        expect(o['additionalProperties'], at).toBe(false);
      }
      for (const [k, v] of Object.entries(o)) walk(v, `${at}/${k}`);
    };
    for (const [name, schema] of Object.entries(publishedSchemas)) walk(JSON.parse(renderJsonSchema(name, schema)), name);
    expect(objects).toBeGreaterThan(100);
  });
});

describe('JSON depth at the boundary', () => {
  it('counts depth on the text, skipping brackets in strings and escapes', () => {
    expect(jsonDepth('{"a":[1,{"b":2}]}')).toBe(3);
    expect(jsonDepth('"[[[[\\"[["')).toBe(0);
    expect(jsonDepth('{"a":"\\\\"}')).toBe(1);
    expect(jsonDepth('['.repeat(1_000_000), MAX_JSON_DEPTH)).toBe(MAX_JSON_DEPTH + 1);
  });

  it(`parses up to ${MAX_JSON_DEPTH} levels and refuses deeper text without parsing it`, () => {
    const nest = (n: number) => `${'['.repeat(n - 1)}{"x":1}${']'.repeat(n - 1)}`;
    expect(parseJsonBounded(nest(MAX_JSON_DEPTH)).ok).toBe(true);
    expect(parseJsonBounded(nest(MAX_JSON_DEPTH + 1))).toMatchObject({ ok: false, kind: 'too-deep' });
    expect(parseJsonBounded('{"a":')).toMatchObject({ ok: false, kind: 'not-json' });
    const deep = `{"runId":"r1","n":2,"input":${nest(100_000)}}`;
    expect(parseJsonBounded(deep)).toMatchObject({ ok: false, kind: 'too-deep' });
    expect(shallowFields(deep)).toEqual({ runId: 'r1', n: 2 });
    expect(shallowFields('[1]')).toBeUndefined();
    expect(shallowFields('null')).toBeUndefined();
  });
});
