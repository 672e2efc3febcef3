import type { ValidationIssue } from './common.js';
import { formatPath, fromZodError } from './issues.js';
import { MAX_MAP_ID_LENGTH, looksLikeItemId, PipelineSpec, type ModelStep, type Step } from './pipeline.js';
import { checkApprovals } from './pipeline-approvals.js';
import { checkLimits, type BudgetOverrides } from './pipeline-limits.js';
import { ancestorSets, findCycle } from './pipeline-graph.js';
import { checkCondition, checkPath, checkTemplate, type RefScope } from './pipeline-refs.js';
import type { MapItemStep } from './pipeline-steps.js';
import { schemaValidator } from './schema-validator.js';
import { lookup, parseTemplate } from './template.js';

export { ancestorSets, findCycle } from './pipeline-graph.js';

export type PipelineCheck = { ok: true; spec: PipelineSpec } | { ok: false; issues: ValidationIssue[] };

/** How deep sub-pipelines may nest: a pipeline step's child may hold pipeline steps, down to this level. */
export const MAX_PIPELINE_DEPTH = 3;

type At = (...p: PropertyKey[]) => string;

/**
 * Parses and checks a pipeline spec: its shape, unique step ids, known `needs`, no cycles, a model for
 * every model step, valid JSON Schemas, templates and paths that reference only declared inputs and the
 * outputs of steps that run before, and each sub-pipeline in turn. Every issue names the path of the
 * field that is wrong. Tools that agents name but the pipeline does not declare are left to the planner,
 * which resolves them from the tool registry at submit. Limits that can never be met are refused too
 * (see `checkLimits`), with `overrides` (a run request's budget) over the pipeline's budget. Pure.
 */
export function checkPipeline(raw: unknown, prefix: readonly PropertyKey[] = [], depth = 0, overrides?: BudgetOverrides): PipelineCheck {
  const parsed = PipelineSpec.safeParse(raw);
  if (!parsed.success) return { ok: false, issues: fromZodError(parsed.error, prefix) };
  const spec = parsed.data;
  const at: At = (...p) => formatPath([...prefix, ...p]);
  const issues: ValidationIssue[] = [];

  const index = new Map<string, number>();
  spec.steps.forEach((s, i) => {
    if (index.has(s.id)) issues.push({ path: at('steps', i, 'id'), message: `duplicate step id "${s.id}"` });
    else index.set(s.id, i);
    if (looksLikeItemId(s.id)) issues.push({ path: at('steps', i, 'id'), message: `"${s.id}" ends in __<number>, which is reserved for the items of a map` });
    if (s.kind === 'map' && s.id.length > MAX_MAP_ID_LENGTH) issues.push({ path: at('steps', i, 'id'), message: `a map's id has at most ${MAX_MAP_ID_LENGTH} characters (its items are <id>__<index>)` });
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
  for (const [name, tool] of Object.entries(spec.tools)) if (tool.input) checkSchema(tool.input, at('tools', name, 'input'), issues);
  checkApprovals(spec, at, issues);
  spec.steps.forEach((s, i) => checkOwnFields(spec, s, i, at, issues));
  if (issues.length > 0) return { ok: false, issues };
  issues.push(...checkLimits(spec, at, formatPath, overrides));

  const ancestors = ancestorSets(spec.steps);
  spec.steps.forEach((s, i) => {
    const scope: RefScope = { spec, step: s, ancestors: ancestors.get(s.id) ?? new Set() };
    if (s.when) checkCondition(s.when, at('steps', i, 'when'), scope, issues);
    switch (s.kind) {
      case 'llm':
      case 'agent':
        checkTemplates(s, (f) => at('steps', i, f), scope, issues);
        break;
      case 'map':
        checkPath(s.over, at('steps', i, 'over'), scope, issues);
        checkTemplates(s.step, (f) => at('steps', i, 'step', f), { ...scope, inMap: true }, issues);
        break;
      case 'end':
        if (s.result) checkPath(s.result, at('steps', i, 'result'), scope, issues);
        break;
      case 'pipeline': {
        for (const [k, t] of Object.entries(s.input)) checkTemplate(t, at('steps', i, 'input', k), scope, issues);
        if (depth + 1 > MAX_PIPELINE_DEPTH) {
          issues.push({ path: at('steps', i, 'pipeline'), message: `sub-pipelines nest at most ${MAX_PIPELINE_DEPTH} deep` });
          break;
        }
        // The step's budget is the child's request budget: over the child pipeline's own.
        const childBudget = s.budget ? { budget: s.budget, at: [...prefix, 'steps', i, 'budget'] } : undefined;
        const child = checkPipeline(s.pipeline, [...prefix, 'steps', i, 'pipeline'], depth + 1, childBudget);
        if (!child.ok) issues.push(...child.issues);
        break;
      }
      case 'signal':
        break;
    }
  });
  return issues.length > 0 ? { ok: false, issues } : { ok: true, spec };
}

/** A step's own fields: a model for model steps (and a map's item step), valid output schemas. */
function checkOwnFields(spec: PipelineSpec, s: Step, i: number, at: At, issues: ValidationIssue[]): void {
  const modelStep = s.kind === 'llm' || s.kind === 'agent' ? { step: s as ModelStep | MapItemStep, path: ['steps', i] } : s.kind === 'map' ? { step: s.step, path: ['steps', i, 'step'] } : undefined;
  if (modelStep) {
    if (!modelStep.step.model && !spec.defaults.model)
      issues.push({ path: at(...modelStep.path, 'model'), message: 'no model: set it on the step or in defaults.model' });
    if (modelStep.step.output) checkSchema(modelStep.step.output, at(...modelStep.path, 'output'), issues);
  }
  if (s.kind === 'signal' && s.output) checkSchema(s.output, at('steps', i, 'output'), issues);
}

function checkTemplates(s: ModelStep | MapItemStep, at: (field: string) => string, scope: RefScope, issues: ValidationIssue[]): void {
  for (const field of ['system', 'prompt'] as const) {
    const template = s[field];
    if (template !== undefined) checkTemplate(template, at(field), scope, issues);
  }
}

/** Every template of a spec, with where it is: model steps, a map's item step, a sub-pipeline's input. */
export function templatesOf(spec: PipelineSpec): { path: string; template: string }[] {
  const out: { path: string; template: string }[] = [];
  spec.steps.forEach((s, i) => {
    const fields = s.kind === 'llm' || s.kind === 'agent' ? { at: `steps[${i}]`, s } : s.kind === 'map' ? { at: `steps[${i}].step`, s: s.step } : undefined;
    if (fields) for (const f of ['system', 'prompt'] as const) if (fields.s[f] !== undefined) out.push({ path: `${fields.at}.${f}`, template: fields.s[f] });
    if (s.kind === 'pipeline') for (const [k, t] of Object.entries(s.input)) out.push({ path: `steps[${i}].input.${k}`, template: t });
  });
  return out;
}

/**
 * Checks a run input against the pipeline: valid against `input` when the pipeline declares it, and,
 * when it does not, holding every `input.…` field a template or path references.
 */
export function checkRunInput(spec: PipelineSpec, input: Record<string, unknown>, basePath = 'input'): ValidationIssue[] {
  if (spec.input) return schemaValidator.validate(spec.input, input, basePath);
  const issues: ValidationIssue[] = [];
  const need = (segments: readonly string[], where: string) => {
    if (segments[0] !== 'input') return;
    if (lookup(input, segments.slice(1)) === undefined) issues.push({ path: `${basePath}.${segments.slice(1).join('.')}`, message: `is required by ${where}` });
  };
  for (const { path, template } of templatesOf(spec)) {
    const parsed = parseTemplate(template);
    if (parsed.ok) for (const ref of parsed.refs) need(ref.segments, path);
  }
  spec.steps.forEach((s, i) => {
    if (s.kind === 'map') need(s.over.split('.'), `steps[${i}].over`);
  });
  return issues;
}

function checkSchema(schema: Record<string, unknown>, path: string, issues: ValidationIssue[]): void {
  const compiled = schemaValidator.compile(schema);
  if (!compiled.ok) issues.push({ path, message: `invalid JSON Schema: ${compiled.message}` });
}
