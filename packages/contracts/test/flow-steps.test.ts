import { describe, expect, it } from 'vitest';
import { checkPipeline, checkRunInput, evaluateCondition, itemStepId, parseItemStepId, PipelineSpec, stepSpecOf, type Condition } from '../src/index.js';

const base = { name: 'p', defaults: { model: 'm' } };
const paths = (raw: unknown) => {
  const r = checkPipeline(raw);
  return r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
};

describe('when: conditions', () => {
  const ctx = { input: { tier: 'gold', n: 3 }, steps: { triage: { output: { category: 'refund', tags: ['a'] } } } };
  const cases: [Condition, boolean][] = [
    [{ path: 'steps.triage.output.category', equals: 'refund' }, true],
    [{ path: 'steps.triage.output.category', notEquals: 'refund' }, false],
    [{ path: 'steps.triage.output.tags', equals: ['a'] }, true],
    [{ path: 'input.tier', in: ['silver', 'gold'] }, true],
    [{ path: 'input.tier', notIn: ['gold'] }, false],
    [{ path: 'input.missing', exists: false }, true],
    [{ path: 'input.missing', equals: null }, false],
    [{ path: 'input.n', gt: 2 }, true],
    [{ path: 'input.tier', gt: 2 }, false],
    [{ all: [{ path: 'input.n', gte: 3 }, { path: 'input.n', lte: 3 }] }, true],
    [{ any: [{ path: 'input.n', lt: 0 }, { path: 'input.tier', equals: 'gold' }] }, true],
  ];
  it.each(cases)('%j is %s', (c, want) => expect(evaluateCondition(c, ctx)).toBe(want));

  it('refuses a comparison with no operator or two, and a path outside input/steps', () => {
    const steps = (when: unknown) => ({ ...base, steps: [{ id: 'a', prompt: 'x' }, { id: 'b', needs: ['a'], prompt: 'y', when }] });
    expect(paths(steps({ path: 'input.x' }))[0]).toMatch(/^steps\[1\]\.when/);
    expect(paths(steps({ path: 'input.x', equals: 1, gt: 2 }))[0]).toMatch(/^steps\[1\]\.when/);
    expect(paths(steps({ path: 'env.HOME', equals: 1 }))[0]).toMatch(/^steps\[1\]\.when/);
    expect(paths(steps({ path: 'steps.c.output', equals: 1 }))).toEqual(['steps[1].when.path: steps.c.output: unknown step "c"']);
    expect(paths(steps({ any: [{ path: 'steps.a.output', exists: true }] }))).toEqual([]);
  });
  it('refuses a condition on a step that is not a need', () => {
    const spec = { ...base, steps: [{ id: 'a', prompt: 'x' }, { id: 'b', prompt: 'y', when: { path: 'steps.a.output', exists: true } }] };
    expect(paths(spec)).toEqual(['steps[1].when.path: steps.a.output: step "a" is not in this step\'s needs (directly or transitively)']);
  });
});

describe('map steps', () => {
  const map = (over: string, step: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    ...base,
    input: { type: 'object', properties: { lines: { type: 'array' } } },
    steps: [{ id: 'lines', kind: 'map', over, step, ...extra }],
  });
  it('accepts item templates and defaults the item kind to llm', () => {
    const r = checkPipeline(map('input.lines', { prompt: 'Classify {{item.sku}} (#{{index}}) for {{input.lines}}' }));
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.spec.steps[0]).toMatchObject({ kind: 'map', concurrency: 4, maxItems: 1000, step: { kind: 'llm' } });
  });
  it('names the wrong field: an unknown list, item refs outside a map, index fields, a missing model', () => {
    expect(paths(map('input.rows', { prompt: 'x' }))).toEqual(['steps[0].over: input.rows: "rows" is not a field of input']);
    expect(paths(map('input.lines', { prompt: '{{index.x}}' }))).toEqual(['steps[0].step.prompt: {{index.x}}: index is a number and has no fields']);
    expect(paths({ ...base, steps: [{ id: 'a', prompt: '{{item}}' }] })[0]).toContain('steps[0].prompt: {{item}}: unknown root "item"');
    expect(paths({ name: 'p', steps: [{ id: 'm', kind: 'map', over: 'input.x', step: { prompt: 'p' } }] })).toEqual(['steps[0].step.model: no model: set it on the step or in defaults.model']);
  });
  it('reserves the item id form and bounds a map id so its items are still step ids', () => {
    expect(paths({ ...base, steps: [{ id: 'a__3', prompt: 'x' }] })).toEqual(['steps[0].id: "a__3" ends in __<number>, which is reserved for the items of a map']);
    const long = `m${'x'.repeat(56)}`;
    expect(paths({ ...base, steps: [{ id: long, kind: 'map', over: 'input.x', step: { prompt: 'p' } }] })[0]).toMatch(/^steps\[0\]\.id: a map's id has at most 56/);
  });
  it('gives an item its map step with its own id and the map needs', () => {
    const spec = PipelineSpec.parse({ ...base, steps: [{ id: 'a', prompt: 'x' }, { id: 'm', kind: 'map', needs: ['a'], over: 'steps.a.output', step: { prompt: 'p {{item}}' } }] });
    const id = itemStepId('m', 41);
    expect(parseItemStepId(id)).toEqual({ mapId: 'm', index: 41 });
    expect(parseItemStepId('m__041')).toBeUndefined();
    expect(stepSpecOf(spec, id)).toMatchObject({ id, kind: 'llm', needs: ['a'], prompt: 'p {{item}}' });
    expect(stepSpecOf(spec, 'a__1')).toBeUndefined();
  });
  it('says which input field a map needs when the pipeline declares no input schema', () => {
    const spec = PipelineSpec.parse({ ...base, steps: [{ id: 'm', kind: 'map', over: 'input.lines', step: { prompt: 'p' } }] });
    expect(checkRunInput(spec, {})).toEqual([{ path: 'input.lines', message: 'is required by steps[0].over' }]);
  });
});

describe('signal, end and pipeline steps', () => {
  it('accepts them without a model and checks their paths', () => {
    const spec = {
      name: 'p',
      steps: [
        { id: 'wait', kind: 'signal', signal: 'go', timeoutMs: 1000, output: { type: 'object', properties: { ok: { type: 'boolean' } } } },
        { id: 'stop', kind: 'end', needs: ['wait'], when: { path: 'steps.wait.output.ok', equals: false }, result: 'steps.wait.output' },
      ],
    };
    expect(paths(spec)).toEqual([]);
    expect(paths({ ...spec, steps: [spec.steps[0], { ...spec.steps[1], result: 'steps.wait.output.nope' }] })).toEqual(['steps[1].result: steps.wait.output.nope: "nope" is not a field of steps.wait.output']);
  });
  it('checks a sub-pipeline as a pipeline, with paths into it, and bounds the nesting', () => {
    const child = { name: 'child', steps: [{ id: 'x', prompt: '{{input.topic}}' }] };
    const parent = (pipeline: unknown) => ({ ...base, steps: [{ id: 'sub', kind: 'pipeline', pipeline, input: { topic: '{{input.topic}}' } }] });
    expect(paths(parent(child))).toEqual(['steps[0].pipeline.steps[0].model: no model: set it on the step or in defaults.model']);
    expect(paths(parent({ ...child, defaults: { model: 'm' } }))).toEqual([]);
    let deep: Record<string, unknown> = { ...child, defaults: { model: 'm' } };
    for (let i = 0; i < 4; i++) deep = { ...base, name: `n${i}`, steps: [{ id: 'sub', kind: 'pipeline', pipeline: deep }] };
    expect(paths(deep)).toEqual(['steps[0].pipeline.steps[0].pipeline.steps[0].pipeline.steps[0].pipeline: sub-pipelines nest at most 3 deep']);
  });
});
