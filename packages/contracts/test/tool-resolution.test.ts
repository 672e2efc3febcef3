import { describe, expect, it } from 'vitest';
import { asSubmitted, PipelineSpec, resolveTools, resolvedTool, SCHEMA_VERSION, toolInputDigest, toolRegistration, toolsNamedBy, toolsNamedDeep, type RegistryEntry } from '../src/index.js';

/** Resolving a pipeline's tools against the tool registry at submit (tool-resolution.ts). */
const LOOKUP_INPUT = { type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'] };
const registered = toolRegistration({ schemaVersion: SCHEMA_VERSION, name: 'lookup', description: 'Finds an order', input: LOOKUP_INPUT, version: '2.1.0' }, new Date('2026-12-01T00:00:00Z'));
const registry = (...entries: [string, RegistryEntry][]) => new Map(entries);

const spec = (tools: Record<string, unknown> = {}, stepTools = ['lookup']) =>
  PipelineSpec.parse({
    name: 'p',
    defaults: { model: 'm' },
    tools,
    steps: [
      { id: 'agent', kind: 'agent', prompt: 'p', tools: stepTools },
      { id: 'each', kind: 'map', over: 'input.xs', step: { kind: 'agent', prompt: '{{item}}', tools: stepTools } },
    ],
  });

describe('resolveTools', () => {
  it('takes description and schema from the registration for a tool the pipeline only names', () => {
    const r = resolveTools(spec(), registry(['lookup', registered]), ['pipeline']);
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    expect(resolvedTool(r.spec, 'lookup')).toEqual({ description: 'Finds an order', input: LOOKUP_INPUT });
  });

  it('fills an entry without input from the registration, keeping the entry\'s own fields', () => {
    const r = resolveTools(spec({ lookup: { description: 'Look an order up', timeoutMs: 2_000 } }), registry(['lookup', registered]));
    if (!r.ok) throw new Error('expected ok');
    expect(r.spec.tools['lookup']).toEqual({ description: 'Look an order up', timeoutMs: 2_000, input: LOOKUP_INPUT });
  });

  it('refuses a tool nobody registered and the pipeline gives no schema for, at every field naming it', () => {
    const r = resolveTools(spec(), registry(), ['pipeline']);
    const message = 'tool "lookup" is not registered (no running tool has registered under this name) and the pipeline does not give its schema';
    expect(r).toEqual({ ok: false, issues: [{ path: 'pipeline.steps[0].tools[0]', message }, { path: 'pipeline.steps[1].step.tools[0]', message }] });
  });

  it('refuses an entry without input, unregistered, at the entry; and says when the registry entry is invalid', () => {
    expect(resolveTools(spec({ lookup: { description: 'd' } }), registry(), ['pipeline'])).toMatchObject({ ok: false, issues: [{ path: 'pipeline.tools.lookup' }] });
    const r = resolveTools(spec(), registry(['lookup', { invalid: 'inputDigest: Invalid string' }]));
    expect(r.ok ? '' : r.issues[0]!.message).toContain('its registry entry is invalid: inputDigest: Invalid string');
  });

  it('accepts a schema equal to the registered one, whatever its key order', () => {
    const reordered = { required: ['orderId'], properties: { orderId: { type: 'string' } }, type: 'object' };
    expect(toolInputDigest(reordered)).toBe(registered.inputDigest);
    const r = resolveTools(spec({ lookup: { input: reordered } }), registry(['lookup', registered]));
    expect(r.ok && r.spec.tools['lookup']).toEqual({ input: reordered, description: 'Finds an order' });
  });

  it('refuses a schema that differs from the registered one, naming the registered version', () => {
    const r = resolveTools(spec({ lookup: { description: 'd', input: { type: 'object' } } }), registry(['lookup', registered]), ['pipeline']);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues).toHaveLength(1);
    expect(r.issues[0]!.path).toBe('pipeline.tools.lookup.input');
    expect(r.issues[0]!.message).toContain('version 2.1.0, registered at 2026-12-01T00:00:00.000Z');
  });

  it('takes a tool outside the registry as declared, and refuses one without a description', () => {
    const outside = resolveTools(spec({ lookup: { description: 'd', input: LOOKUP_INPUT } }), registry());
    expect(outside.ok && outside.spec.tools['lookup']).toEqual({ description: 'd', input: LOOKUP_INPUT });
    expect(resolveTools(spec({ lookup: { input: LOOKUP_INPUT } }), registry(), ['pipeline'])).toMatchObject({ ok: false, issues: [{ path: 'pipeline.tools.lookup.description' }] });
  });

  it('resolves entries no agent names, and names every tool once with its paths', () => {
    const s = spec({ spare: { description: 'd', input: { type: 'object' } } });
    expect([...toolsNamedBy(s, ['pipeline'])]).toEqual([
      ['spare', ['pipeline.tools.spare']],
      ['lookup', ['pipeline.steps[0].tools[0]', 'pipeline.steps[1].step.tools[0]']],
    ]);
    const r = resolveTools(s, registry(['lookup', registered]));
    expect(r.ok && Object.keys(r.spec.tools).sort()).toEqual(['lookup', 'spare']);
  });

  it('leaves the registry alone for a name like __proto__ (an own property, never the prototype)', () => {
    const r = resolveTools(spec({}, ['__proto__']), registry(['__proto__', { ...registered, name: '__proto__' }]));
    expect(r.ok && Object.hasOwn(r.spec.tools, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(r.ok ? r.spec.tools : {})).toBe(Object.prototype);
  });
});

describe('asSubmitted', () => {
  it('shows a run\'s resolved tools as the request gave them, so only real differences remain', () => {
    const asked = spec({ lookup: { timeoutMs: 2_000 } });
    const r = resolveTools(asked, registry(['lookup', registered]));
    if (!r.ok) throw new Error('expected ok');
    expect(asSubmitted(r.spec, asked)).toEqual(asked);
    expect(asSubmitted(r.spec, spec())).toEqual(spec());
    // A field the request gives that the run holds otherwise stays a difference.
    expect((asSubmitted(r.spec, spec({ lookup: { timeoutMs: 9 } })) as { tools: unknown }).tools).toEqual({ lookup: { timeoutMs: 2_000 } });
  });
});

describe('sub-pipelines\' tools at the parent\'s submit', () => {
  const child = { name: 'child', defaults: { model: 'm' }, steps: [{ id: 'look', kind: 'agent', prompt: 'p', tools: ['lookup'] }] };
  const parent = (inner: unknown = child) => PipelineSpec.parse({ name: 'p', defaults: { model: 'm' }, steps: [{ id: 'sub', kind: 'pipeline', pipeline: { name: 'mid', steps: [{ id: 'deeper', kind: 'pipeline', pipeline: inner }] } }] });

  it('names the tools of nested sub-pipelines, for submit to read from the registry', () => {
    expect([...toolsNamedDeep(parent())]).toEqual(['lookup']);
    expect(toolsNamedBy(parent()).size).toBe(0);
  });

  it('refuses a tool nobody registered at its path in the child, and keeps the child as given when all are registered', () => {
    expect(resolveTools(parent(), registry(), ['pipeline'])).toEqual({
      ok: false,
      issues: [{ path: 'pipeline.steps[0].pipeline.steps[0].pipeline.steps[0].tools[0]', message: expect.stringContaining('tool "lookup" is not registered') }],
    });
    const ok = resolveTools(parent(), registry(['lookup', registered]), ['pipeline']);
    if (!ok.ok) throw new Error(JSON.stringify(ok.issues));
    expect(ok.spec.steps[0]).toEqual(parent().steps[0]);
  });
});
