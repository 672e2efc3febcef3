import { checkPipeline, PipelineSpec } from '@pipewright/contracts';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { all, any, eq, exists, gt, gte, lt, lte, ne, noneOf, oneOf, pipeline, PipelineSpecError, tpl } from '../src/index.js';

const Triage = z.object({ category: z.enum(['refund', 'other']), score: z.number(), orderId: z.string() });
const start = () =>
  pipeline('p', { input: z.object({ topic: z.string(), lines: z.array(z.object({ sku: z.string() })) }), defaults: { model: 'sim-small' } })
    .llm('triage', { prompt: ({ input }) => tpl`Triage ${input.topic}`, output: Triage });

describe('pipeline builder', () => {
  it('emits pipeline fields, an input schema from zod (open objects), and only what was given', () => {
    const spec = pipeline('p', {
      version: '2',
      description: 'd',
      input: z.object({ topic: z.string(), n: z.number().default(3) }),
      defaults: { model: 'm', approval: { costAboveUsd: 1 } },
      limits: { maxSteps: 5 },
      budget: { maxUsd: 2, onExceeded: 'ask' },
    })
      .llm('a', { prompt: 'hello' })
      .toSpec();
    expect(spec).toStrictEqual({
      name: 'p',
      version: '2',
      description: 'd',
      input: { type: 'object', properties: { topic: { type: 'string' }, n: { type: 'number', default: 3 } }, required: ['topic'] },
      defaults: { model: 'm', approval: { costAboveUsd: 1 } },
      limits: { maxSteps: 5 },
      budget: { maxUsd: 2, onExceeded: 'ask' },
      steps: [{ id: 'a', kind: 'llm', prompt: 'hello' }],
    });
  });

  it('renders typed references as template paths and infers needs from them', () => {
    const spec = start()
      .llm('summary', { system: ({ input }) => tpl`On ${input.topic}`, prompt: ({ steps }) => tpl`Category ${steps.triage.output.category}, score ${steps.triage.output.score}; ${'literal'} ${3}`, temperature: 0.2 })
      .toSpec();
    expect(spec.steps[1]).toStrictEqual({
      id: 'summary',
      kind: 'llm',
      needs: ['triage'],
      system: 'On {{input.topic}}',
      prompt: 'Category {{steps.triage.output.category}}, score {{steps.triage.output.score}}; literal 3',
      temperature: 0.2,
    });
  });

  it('emits output schemas closed (additionalProperties: false) without $schema', () => {
    expect(start().toSpec().steps[0]).toMatchObject({
      output: { type: 'object', properties: { category: { type: 'string', enum: ['refund', 'other'] } }, required: ['category', 'score', 'orderId'], additionalProperties: false },
    });
    expect(start().toSpec().steps[0]).not.toHaveProperty('output.$schema');
  });

  it('builds when: conditions of every operator, and needs from their paths', () => {
    const p = start()
      .llm('x', { prompt: 'x', when: ({ steps }) => eq(steps.triage.output.category, 'refund') })
      .llm('y', { prompt: 'y', needs: ['x'], when: ({ steps, input }) => all(ne(steps.triage.output.category, 'other'), oneOf(input.topic, ['a', 'b']), noneOf(input.topic, ['c']), exists(steps.triage.output.orderId)) })
      .llm('z', { prompt: 'z', when: ({ steps }) => any(gt(steps.triage.output.score, 1), gte(steps.triage.output.score, 2), lt(steps.triage.output.score, 3), lte(steps.triage.output.score, 4), exists(steps.triage.output.orderId, false)) });
    const [, x, y, z] = p.toSpec().steps;
    expect(x).toMatchObject({ needs: ['triage'], when: { path: 'steps.triage.output.category', equals: 'refund' } });
    expect(y).toMatchObject({
      needs: ['x', 'triage'],
      when: { all: [{ path: 'steps.triage.output.category', notEquals: 'other' }, { path: 'input.topic', in: ['a', 'b'] }, { path: 'input.topic', notIn: ['c'] }, { path: 'steps.triage.output.orderId', exists: true }] },
    });
    expect(z).toMatchObject({ when: { any: [{ gt: 1 }, { gte: 2 }, { lt: 3 }, { lte: 4 }, { exists: false }] } });
    expect(checkPipeline(p.toSpec()).ok).toBe(true);
  });

  it('emits agents with declared tools: by name, with a declaration, or from a tool definition', () => {
    const Lookup = { name: 'lookup', description: 'Looks an order up.', input: z.object({ orderId: z.string() }).strict(), handler: () => Promise.resolve({}) };
    const spec = start()
      .tool('registered')
      .tool('declared', { description: 'Declared.', input: { type: 'object' }, timeoutMs: 5000 })
      .tool(Lookup, { timeoutMs: 3000 })
      .agent('act', { prompt: ({ steps }) => tpl`Order ${steps.triage.output.orderId}`, tools: ['registered', 'lookup'], maxIterations: 3, approval: { tools: ['lookup'], timeoutMs: 1000 } })
      .toSpec();
    expect(spec.tools).toStrictEqual({
      registered: {},
      declared: { description: 'Declared.', input: { type: 'object' }, timeoutMs: 5000 },
      lookup: {
        description: 'Looks an order up.',
        input: { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'], additionalProperties: false },
        timeoutMs: 3000,
      },
    });
    expect(spec.steps[1]).toStrictEqual({ id: 'act', kind: 'agent', needs: ['triage'], prompt: 'Order {{steps.triage.output.orderId}}', tools: ['registered', 'lookup'], maxIterations: 3, approval: { tools: ['lookup'], timeoutMs: 1000 } });
  });

  it('emits a map over a typed list with item and index references, and its bounds', () => {
    const spec = start()
      .map('each', {
        over: ({ input }) => input.lines,
        concurrency: 3,
        maxItems: 10,
        step: { prompt: ({ item, index, steps }) => tpl`#${index} ${item.sku} for ${steps.triage.output.orderId}`, output: z.object({ ok: z.boolean() }) },
      })
      .map('agents', { over: ({ steps }) => steps.each.output, step: { kind: 'agent', prompt: ({ item }) => tpl`${item.ok}`, tools: ['t'] as never[] } })
      .toSpec();
    expect(spec.steps[1]).toStrictEqual({
      id: 'each',
      kind: 'map',
      needs: ['triage'],
      over: 'input.lines',
      concurrency: 3,
      maxItems: 10,
      step: { kind: 'llm', prompt: '#{{index}} {{item.sku}} for {{steps.triage.output.orderId}}', output: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'], additionalProperties: false } },
    });
    expect(spec.steps[2]).toMatchObject({ needs: ['each'], over: 'steps.each.output', step: { kind: 'agent', prompt: '{{item.ok}}' } });
  });

  it('emits signal, end and sub-pipeline steps', () => {
    const child = pipeline('child', { input: z.object({ orderId: z.string(), note: z.string() }), defaults: { model: 'm' } }).llm('answer', { prompt: ({ input }) => tpl`${input.orderId}: ${input.note}` });
    const spec = start()
      .signal('approve', { signal: 'approved', output: z.object({ ok: z.boolean() }), timeoutMs: 60_000, onTimeout: 'continue', description: 'a person says yes' })
      .end('stop', { when: ({ steps }) => eq(steps.approve.output.ok, false), status: 'failed', reason: 'not approved' })
      .end('early', { when: ({ steps }) => eq(steps.triage.output.category, 'other'), result: ({ steps }) => steps.triage.output })
      .pipeline('sub', { pipeline: child, input: ({ steps }) => ({ orderId: steps.triage.output.orderId, note: tpl`cat ${steps.triage.output.category}` }), budget: { maxUsd: 0.5 }, needs: ['approve'] })
      .toSpec();
    expect(spec.steps.slice(1)).toStrictEqual([
      { id: 'approve', kind: 'signal', description: 'a person says yes', signal: 'approved', timeoutMs: 60_000, onTimeout: 'continue', output: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'], additionalProperties: false } },
      { id: 'stop', kind: 'end', needs: ['approve'], when: { path: 'steps.approve.output.ok', equals: false }, status: 'failed', reason: 'not approved' },
      { id: 'early', kind: 'end', needs: ['triage'], when: { path: 'steps.triage.output.category', equals: 'other' }, result: 'steps.triage.output' },
      { id: 'sub', kind: 'pipeline', needs: ['approve', 'triage'], pipeline: child.toSpec(), input: { orderId: '{{steps.triage.output.orderId}}', note: 'cat {{steps.triage.output.category}}' }, budget: { maxUsd: 0.5 } },
    ]);
  });

  it('sets the run output step', () => {
    expect(start().llm('b', { prompt: 'b' }).output('triage').toSpec().output).toBe('triage');
  });

  it('throws PipelineSpecError naming each bad field by its path', () => {
    const noModel = pipeline('p').llm('a', { prompt: 'a' });
    expect(() => noModel.toSpec()).toThrow(PipelineSpecError);
    expect(noModel.check()).toMatchObject({ ok: false, issues: [{ path: 'steps[0].model', message: expect.stringContaining('no model') }] });
    try {
      // references checked at run time too: a field the schema does not declare (types bypassed)
      start().llm('b', { prompt: ({ steps }) => tpl`${(steps.triage.output as unknown as Record<string, never>)['nope']!}` }).toSpec();
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(PipelineSpecError);
      expect((err as PipelineSpecError).issues).toEqual([{ path: 'steps[1].prompt', message: expect.stringContaining('"nope" is not a field of steps.triage.output') }]);
      expect((err as Error).message).toContain('steps[1].prompt');
    }
    expect(() => pipeline('bad name!', { defaults: { model: 'm' } }).llm('a', { prompt: 'a' }).toSpec()).toThrow(/name/);
  });

  it('refuses braces in template literals and paths that are not references', () => {
    expect(() => start().llm('b', { prompt: () => tpl`{{input.topic}}` })).toThrow(/"\{\{" or "\}\}"/);
    expect(() => start().map('m', { over: () => 'input.lines' as never, step: { prompt: 'x' } })).toThrow(/m\.over must be a reference/);
  });

  it('is immutable: each step returns a new builder', () => {
    const a = start();
    const b = a.llm('more', { prompt: 'x' });
    expect(a.toSpec().steps).toHaveLength(1);
    expect(b.toSpec().steps).toHaveLength(2);
  });

  it('emits YAML that parses back to the same spec', () => {
    const p = start().map('each', { over: ({ input }) => input.lines, step: { prompt: ({ item }) => tpl`${item.sku}` } });
    const yaml = p.toYaml({ header: 'generated\nby a test' });
    expect(yaml.startsWith('# generated\n# by a test\nname: p\n')).toBe(true);
    expect(PipelineSpec.parse(parse(yaml))).toStrictEqual(PipelineSpec.parse(p.toSpec()));
  });
});
