import type { ValidationIssue } from './common.js';
import { comparisonsOf, type Condition } from './condition.js';
import type { PipelineSpec, Step } from './pipeline.js';
import { parseTemplate, type TemplateRef } from './template.js';

/** What a template or path of one step may reference. */
export interface RefScope {
  spec: PipelineSpec;
  /** The step whose fields are checked (for an item template: the map). */
  step: Step;
  /** Every step it depends on, directly or transitively. */
  ancestors: ReadonlySet<string>;
  /** Inside a map's `step`: `item` and `index` may be referenced too. */
  inMap?: boolean;
}

/** Checks a template's references; each problem is reported at `path`. */
export function checkTemplate(template: string, path: string, scope: RefScope, issues: ValidationIssue[]): TemplateRef[] {
  const parsed = parseTemplate(template);
  if (!parsed.ok) {
    issues.push({ path, message: parsed.message });
    return [];
  }
  for (const ref of parsed.refs) {
    const problem = checkRef(ref.segments, scope);
    if (problem) issues.push({ path, message: `{{${ref.path}}}: ${problem}` });
  }
  return parsed.refs;
}

/** Checks a path (`input.…`, `steps.<id>.output…`) such as a map's `over` or an end step's `result`. */
export function checkPath(valuePath: string, path: string, scope: RefScope, issues: ValidationIssue[]): void {
  const problem = checkRef(valuePath.split('.'), scope);
  if (problem) issues.push({ path, message: `${valuePath}: ${problem}` });
}

/** Checks the paths of a `when:` condition. */
export function checkCondition(cond: Condition, path: string, scope: RefScope, issues: ValidationIssue[]): void {
  comparisonsOf(cond).forEach((c, j) => checkPath(c.path, 'all' in cond || 'any' in cond ? `${path}.${'all' in cond ? 'all' : 'any'}[${j}].path` : `${path}.path`, scope, issues));
}

function checkRef(segments: readonly string[], scope: RefScope): string | undefined {
  const { spec, step, ancestors } = scope;
  const [root, ...rest] = segments;
  if (scope.inMap && (root === 'item' || root === 'index')) return root === 'index' && rest.length > 0 ? 'index is a number and has no fields' : undefined;
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
    const schema = outputSchemaOf(target);
    if (!schema) return `step "${id}" has no output schema, so its output has no fields`;
    return missingProperty(schema, tail, `steps.${id}.output`);
  }
  return `unknown root "${root}": use input.… or steps.<id>.output…${scope.inMap ? ', item… or index' : ''}`;
}

/** The JSON Schema of a step's output, when it declares one. */
export function outputSchemaOf(step: Step): Record<string, unknown> | undefined {
  switch (step.kind) {
    case 'llm':
    case 'agent':
    case 'signal':
      return step.output;
    case 'map': {
      const items = step.step.output;
      return { type: 'array', ...(items ? { items } : {}) };
    }
    case 'pipeline':
    case 'end':
      return undefined;
  }
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
