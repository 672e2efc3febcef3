import type { ValidationIssue } from './common.js';
import { formatPath, fromZodError } from './issues.js';
import { effectiveApproval, PipelineSpec, type Step } from './pipeline.js';
import { schemaValidator } from './schema-validator.js';
import { lookup, parseTemplate } from './template.js';

export type PipelineCheck = { ok: true; spec: PipelineSpec } | { ok: false; issues: ValidationIssue[] };

/**
 * Parses and checks a pipeline spec: its shape, unique step ids, known `needs`, no cycles, a model for
 * every step, valid JSON Schemas, and templates that reference only declared inputs and the outputs of
 * steps that run before. Every issue names the path of the field that is wrong. Pure.
 */
export function checkPipeline(raw: unknown, prefix: readonly PropertyKey[] = []): PipelineCheck {
  const parsed = PipelineSpec.safeParse(raw);
  if (!parsed.success) return { ok: false, issues: fromZodError(parsed.error, prefix) };
  const spec = parsed.data;
  const at = (...p: PropertyKey[]) => formatPath([...prefix, ...p]);
  const issues: ValidationIssue[] = [];

  const index = new Map<string, number>();
  spec.steps.forEach((s, i) => {
    if (index.has(s.id)) issues.push({ path: at('steps', i, 'id'), message: `duplicate step id "${s.id}"` });
    else index.set(s.id, i);
  });
  spec.steps.forEach((s, i) =>
    s.needs.forEach((n, j) => {
      if (!index.has(n)) issues.push({ path: at('steps', i, 'needs', j), message: `unknown step "${n}"` });
      else if (n === s.id) issues.push({ path: at('steps', i, 'needs', j), message: 'a step cannot need itself' });
    }),
  );
  if (issues.length === 0) {
    const cycle = findCycle(spec.steps);
    if (cycle) {
      const i = index.get(cycle[0] ?? '') ?? 0;
      issues.push({ path: at('steps', i, 'needs'), message: `cycle: ${cycle.join(' -> ')}` });
    }
  }
  if (spec.output !== undefined && !index.has(spec.output))
    issues.push({ path: at('output'), message: `unknown step "${spec.output}"` });

  if (spec.input) checkSchema(spec.input, at('input'), issues);
  for (const [name, tool] of Object.entries(spec.tools)) checkSchema(tool.input, at('tools', name, 'input'), issues);
  spec.steps.forEach((s, i) => {
    if (s.kind !== 'agent') return;
    s.tools.forEach((t, j) => {
      if (!Object.hasOwn(spec.tools, t)) issues.push({ path: at('steps', i, 'tools', j), message: `tool "${t}" is not declared in the pipeline's tools` });
    });
  });
  checkApprovals(spec, at, issues);
  spec.steps.forEach((s, i) => {
    if (!s.model && !spec.defaults.model)
      issues.push({ path: at('steps', i, 'model'), message: 'no model: set it on the step or in defaults.model' });
    if (s.output) checkSchema(s.output, at('steps', i, 'output'), issues);
  });
  if (issues.length > 0) return { ok: false, issues };

  const ancestors = ancestorSets(spec.steps);
  spec.steps.forEach((s, i) => {
    for (const field of ['system', 'prompt'] as const) {
      const template = s[field];
      if (template === undefined) continue;
      const parsedT = parseTemplate(template);
      if (!parsedT.ok) {
        issues.push({ path: at('steps', i, field), message: parsedT.message });
        continue;
      }
      for (const ref of parsedT.refs) {
        const problem = checkRef(ref.segments, s, spec, ancestors.get(s.id) ?? new Set());
        if (problem) issues.push({ path: at('steps', i, field), message: `{{${ref.path}}}: ${problem}` });
      }
    }
  });
  return issues.length > 0 ? { ok: false, issues } : { ok: true, spec };
}

/**
 * Checks a run input against the pipeline: valid against `input` when the pipeline declares it, and,
 * when it does not, holding every `input.…` field a template references.
 */
export function checkRunInput(spec: PipelineSpec, input: Record<string, unknown>, basePath = 'input'): ValidationIssue[] {
  if (spec.input) return schemaValidator.validate(spec.input, input, basePath);
  const issues: ValidationIssue[] = [];
  spec.steps.forEach((s, i) => {
    for (const field of ['system', 'prompt'] as const) {
      const t = s[field];
      const parsed = t === undefined ? undefined : parseTemplate(t);
      if (!parsed?.ok) continue;
      for (const ref of parsed.refs) {
        if (ref.segments[0] !== 'input') continue;
        if (lookup(input, ref.segments.slice(1)) === undefined)
          issues.push({ path: `${basePath}.${ref.segments.slice(1).join('.')}`, message: `is required by steps[${i}].${field}` });
      }
    }
  });
  return issues;
}

function checkRef(segments: readonly string[], step: Step, spec: PipelineSpec, ancestors: ReadonlySet<string>): string | undefined {
  const [root, ...rest] = segments;
  if (root === 'input') {
    if (rest.length === 0) return undefined;
    return spec.input ? missingProperty(spec.input, rest, 'input') : undefined;
  }
  if (root === 'steps') {
    const [id, field, ...tail] = rest;
    if (id === undefined) return 'name a step: steps.<id>.output';
    const target = spec.steps.find((s) => s.id === id);
    if (!target) return `unknown step "${id}"`;
    if (id === step.id) return 'a step cannot reference its own output';
    if (!ancestors.has(id)) return `step "${id}" is not in this step's needs (directly or transitively)`;
    if (field !== 'output') return `only steps.${id}.output can be referenced`;
    if (tail.length === 0) return undefined;
    if (!target.output) return `step "${id}" has no output schema, so its output is text with no fields`;
    return missingProperty(target.output, tail, `steps.${id}.output`);
  }
  return `unknown root "${root}": use input.… or steps.<id>.output…`;
}

/** Walks `properties` of a JSON Schema; says which segment is not declared, if any. */
function missingProperty(schema: Record<string, unknown>, segments: readonly string[], base: string): string | undefined {
  let cur: unknown = schema;
  let path = base;
  for (const seg of segments) {
    const props = (cur as { properties?: unknown } | undefined)?.properties;
    if (props === undefined || props === null || typeof props !== 'object') return undefined; // schema does not constrain further
    if (!Object.hasOwn(props, seg)) return `"${seg}" is not a field of ${path}`;
    cur = (props as Record<string, unknown>)[seg];
    path = `${path}.${seg}`;
  }
  return undefined;
}

/**
 * Approval policies: every tool they name is one the pipeline declares (and, on a step, one the step
 * offers); an escalating timeout says where to; a timeout action has a timeout; a confidence threshold
 * on an llm step has a `confidence` field to read.
 */
function checkApprovals(spec: PipelineSpec, at: (...p: PropertyKey[]) => string, issues: ValidationIssue[]): void {
  const d = spec.defaults.approval === false ? undefined : spec.defaults.approval;
  d?.tools?.forEach((t, j) => {
    if (!Object.hasOwn(spec.tools, t)) issues.push({ path: at('defaults', 'approval', 'tools', j), message: `tool "${t}" is not declared in the pipeline's tools` });
  });
  const seen = new Set<string>();
  const add = (path: string, message: string) => {
    if (seen.has(`${path}\n${message}`)) return; // a defaults problem is reported once, not per step
    seen.add(`${path}\n${message}`);
    issues.push({ path, message });
  };
  spec.steps.forEach((s, i) => {
    const own = s.approval === false ? undefined : s.approval;
    own?.tools?.forEach((t, j) => {
      const path = at('steps', i, 'approval', 'tools', j);
      if (s.kind !== 'agent') add(path, `an llm step calls no tools; approval.tools is for agent steps`);
      else if (!s.tools.includes(t)) add(path, `tool "${t}" is not one of this step's tools (${s.tools.join(', ')})`);
    });
    const eff = effectiveApproval(spec, s);
    if (!eff) return;
    // The path of the level (step or defaults) that set `k`, naming `field` there.
    const where = (k: 'onTimeout' | 'confidenceBelow', field: string = k) => (own?.[k] !== undefined ? at('steps', i, 'approval', field) : at('defaults', 'approval', field));
    if (eff.onTimeout === 'escalate' && eff.escalation === undefined) add(where('onTimeout', 'escalation'), 'onTimeout "escalate" needs escalation.to');
    if (eff.onTimeout !== 'reject' && eff.timeoutMs === undefined) add(where('onTimeout'), `onTimeout "${eff.onTimeout}" needs timeoutMs (without it the approval waits for ever)`);
    // Only a step's own threshold: one inherited from defaults simply never matches a text step.
    if (own?.confidenceBelow !== undefined && s.kind === 'llm') {
      const props = (s.output as { properties?: unknown } | undefined)?.properties;
      if (s.output === undefined) add(where('confidenceBelow'), `step "${s.id}" has no output schema, so its output has no confidence to compare`);
      else if (props !== null && typeof props === 'object' && !Object.hasOwn(props, 'confidence'))
        add(where('confidenceBelow'), `the output schema of step "${s.id}" declares no "confidence" field`);
    }
  });
}

function checkSchema(schema: Record<string, unknown>, path: string, issues: ValidationIssue[]): void {
  const compiled = schemaValidator.compile(schema);
  if (!compiled.ok) issues.push({ path, message: `invalid JSON Schema: ${compiled.message}` });
}

/** Returns one cycle as a list of step ids (first repeated at the end), or undefined. */
export function findCycle(steps: readonly Pick<Step, 'id' | 'needs'>[]): string[] | undefined {
  const needs = new Map(steps.map((s) => [s.id, s.needs]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    const st = state.get(id);
    if (st === 'done') return undefined;
    if (st === 'visiting') return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 'visiting');
    stack.push(id);
    for (const n of needs.get(id) ?? []) {
      const c = visit(n);
      if (c) return c;
    }
    stack.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const s of steps) {
    const c = visit(s.id);
    if (c) return c;
  }
  return undefined;
}

/** For each step, every step it depends on directly or transitively. Assumes no cycle. */
export function ancestorSets(steps: readonly Pick<Step, 'id' | 'needs'>[]): Map<string, Set<string>> {
  const needs = new Map(steps.map((s) => [s.id, s.needs]));
  const memo = new Map<string, Set<string>>();
  const of = (id: string): Set<string> => {
    const hit = memo.get(id);
    if (hit) return hit;
    const out = new Set<string>();
    memo.set(id, out);
    for (const n of needs.get(id) ?? []) {
      out.add(n);
      for (const a of of(n)) out.add(a);
    }
    return out;
  };
  for (const s of steps) of(s.id);
  return memo;
}
