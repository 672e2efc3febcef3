import type { ValidationIssue } from './common.js';
import { isModelStep, type ModelStep, type PipelineSpec, type RunBudget, type Step } from './pipeline.js';
import { ancestorSets } from './pipeline-graph.js';
import type { MapItemStep } from './pipeline-steps.js';

/**
 * Output tokens reserved (and sent as `max_completion_tokens`) for a metered model call whose step sets
 * no `maxOutputTokens`: the executor's reservation, so a call cannot spend more than it reserved.
 */
export const DEFAULT_MAX_OUTPUT_TOKENS = 4_096;

/** A run's budget limits given over the pipeline's (a run request's `budget`, a pipeline step's `budget` for its child), and where. */
export interface BudgetOverrides {
  budget: RunBudget;
  /** Path of the overriding object (`['budget']` in a run request, `['pipeline', 'steps', 2, 'budget']` for a child). */
  at: readonly PropertyKey[];
}

type At = (...p: PropertyKey[]) => string;
type Format = (path: readonly PropertyKey[]) => string;

/** One budget limit in force, and the path of the field that set it. */
interface Limit {
  value: number;
  path: string;
}

/**
 * Limits that can never be met, found before the run starts. Each would otherwise end the run (or leave a
 * timeout without effect) for a reason fixed at submit, so it is refused with the path of the field:
 *  - a model step whose output cap (each call reserves it) exceeds the run's `budget.maxTokens`;
 *  - `limits.maxSteps` below the number of model steps that run whatever happens;
 *  - a timeout (approval, budget ask, signal) longer than the run's deadline, so it can never act;
 *  - a sub-pipeline step's budget above its parent's.
 * Limits that may merely be reached (a map longer than `maxSteps` allows) are left to the run. Pure.
 */
export function checkLimits(spec: PipelineSpec, at: At, format: Format, overrides?: BudgetOverrides): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const maxTokens = limitOf(spec, 'maxTokens', at, format, overrides);
  const maxUsd = limitOf(spec, 'maxUsd', at, format, overrides);
  if (maxTokens) checkOutputCaps(spec, maxTokens, at, issues);
  checkMaxSteps(spec, at, issues);
  checkTimeouts(spec, at, issues);
  spec.steps.forEach((s, i) => {
    if (s.kind !== 'pipeline' || !s.budget) return;
    for (const [name, parent] of [['maxTokens', maxTokens], ['maxUsd', maxUsd]] as const) {
      const own = s.budget[name];
      if (parent && own !== undefined && own > parent.value)
        issues.push({ path: at('steps', i, 'budget', name), message: `${own} is above the run's ${name} of ${parent.value} (${parent.path}): a child runs within what its parent has left, so it can never have more` });
    }
  });
  return issues;
}

function limitOf(spec: PipelineSpec, name: keyof RunBudget, at: At, format: Format, overrides: BudgetOverrides | undefined): Limit | undefined {
  const own = overrides?.budget[name];
  if (own !== undefined) return { value: own, path: format([...overrides!.at, name]) };
  const value = spec.budget[name];
  return value !== undefined ? { value, path: at('budget', name) } : undefined;
}

/** The output cap each call of a model step reserves, and where it is set (undefined: the default cap). */
function outputCapOf(spec: PipelineSpec, s: ModelStep | MapItemStep, stepPath: readonly PropertyKey[], at: At): { tokens: number; where: string } {
  if (s.maxOutputTokens !== undefined) return { tokens: s.maxOutputTokens, where: at(...stepPath, 'maxOutputTokens') };
  if (spec.defaults.maxOutputTokens !== undefined) return { tokens: spec.defaults.maxOutputTokens, where: at('defaults', 'maxOutputTokens') };
  return { tokens: DEFAULT_MAX_OUTPUT_TOKENS, where: `the default cap of a metered call, as neither the step nor defaults sets maxOutputTokens` };
}

/** Model steps of the pipeline with their paths: its llm and agent steps and each map's item step. */
function modelStepsOf(spec: PipelineSpec): { step: ModelStep | MapItemStep; id: string; path: PropertyKey[] }[] {
  return spec.steps.flatMap((s, i) => {
    if (isModelStep(s)) return [{ step: s, id: s.id, path: ['steps', i] }];
    if (s.kind === 'map') return [{ step: s.step, id: `${s.id} (each item)`, path: ['steps', i, 'step'] }];
    return [];
  });
}

function checkOutputCaps(spec: PipelineSpec, maxTokens: Limit, at: At, issues: ValidationIssue[]): void {
  for (const { step, id, path } of modelStepsOf(spec)) {
    const cap = outputCapOf(spec, step, path, at);
    if (cap.tokens <= maxTokens.value) continue;
    issues.push({
      path: maxTokens.path,
      message:
        `${maxTokens.value} tokens is below the output cap of step "${id}" (${cap.tokens} tokens: ${cap.where}). ` +
        `Every model call reserves its prompt plus its whole output cap before it runs, so no call of this step could ever be granted: ` +
        `raise the budget or lower maxOutputTokens`,
    });
  }
}

/** Model steps with no `when:` and no ancestor with one run in every run that succeeds, one dispatch each at least. */
function checkMaxSteps(spec: PipelineSpec, at: At, issues: ValidationIssue[]): void {
  const ancestors = ancestorSets(spec.steps);
  const byId = new Map(spec.steps.map((s) => [s.id, s]));
  const conditional = (s: Step) => s.when !== undefined || [...(ancestors.get(s.id) ?? [])].some((a) => byId.get(a)?.when !== undefined);
  // An end step that always runs may end the run before others run: then nothing is certain.
  if (spec.steps.some((s) => s.kind === 'end' && !conditional(s))) return;
  const always = spec.steps.filter((s) => isModelStep(s) && !conditional(s));
  if (always.length > spec.limits.maxSteps)
    issues.push({ path: at('limits', 'maxSteps'), message: `${spec.limits.maxSteps} is below the ${always.length} model steps that run in every run (${always.map((s) => s.id).slice(0, 10).join(', ')}${always.length > 10 ? ', …' : ''}): the run could never finish` });
}

function checkTimeouts(spec: PipelineSpec, at: At, issues: ValidationIssue[]): void {
  const deadlineMs = spec.limits.deadlineMs;
  const over = (ms: number | undefined, path: string, what: string) => {
    if (ms !== undefined && ms > deadlineMs) issues.push({ path, message: `${what} of ${ms} ms is longer than the run's deadline (limits.deadlineMs ${deadlineMs} ms): the run ends first, so the timeout can never act` });
  };
  const defaults = spec.defaults.approval === false ? undefined : spec.defaults.approval;
  over(defaults?.timeoutMs, at('defaults', 'approval', 'timeoutMs'), 'the approval timeout');
  over(spec.budget.askTimeoutMs, at('budget', 'askTimeoutMs'), 'the timeout of a request for more budget');
  spec.steps.forEach((s, i) => {
    const own = s.kind === 'map' ? s.step.approval : isModelStep(s) ? s.approval : undefined;
    if (own) over(own.timeoutMs, at(...(s.kind === 'map' ? ['steps', i, 'step'] : ['steps', i]), 'approval', 'timeoutMs'), 'the approval timeout');
    if (s.kind === 'signal') over(s.timeoutMs, at('steps', i, 'timeoutMs'), 'the signal timeout');
  });
}
