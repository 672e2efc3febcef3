import { checkPipeline, checkRunInput, resolveTools, type PipelineSpec, type RegistryEntry, type RunRequest, type ValidationIssue } from '@pipewright/contracts';

/** Step kinds the planner refuses at admission until it runs them. */
const NOT_RUN_YET = new Set<string>([
  // TODO(flow-map): map and end steps
  'map',
  'end',

  // TODO(flow-signal): signal and pipeline steps
  'signal',
  'pipeline',
]);

export type Admission = { ok: true; pipeline: PipelineSpec } | { ok: false; issues: ValidationIssue[] };

/**
 * Checks a decoded run request before it becomes a run: the pipeline's structure, templates and limits
 * (with the request's budget over the pipeline's), its tools resolved against the registry entries of
 * the tools it names (`registry`), and the input against the pipeline. Gives the pipeline the run keeps:
 * every tool resolved, so nothing later depends on the registry. Issue paths are relative to the request
 * (`pipeline.steps[1].needs[0]`, `budget.maxTokens`).
 */
export function admit(request: RunRequest, registry: ReadonlyMap<string, RegistryEntry>): Admission {
  const checked = checkPipeline(request.pipeline, ['pipeline'], 0, request.budget ? { budget: request.budget, at: ['budget'] } : undefined);
  if (!checked.ok) return checked;
  const issues: ValidationIssue[] = [];
  checked.spec.steps.forEach((s, i) => {
    if (NOT_RUN_YET.has(s.kind)) issues.push({ path: `pipeline.steps[${i}].kind`, message: `steps of kind ${s.kind} are not run by this planner yet` });
  });
  const resolved = resolveTools(checked.spec, registry, ['pipeline']);
  if (!resolved.ok) issues.push(...resolved.issues);
  if (issues.length > 0 || !resolved.ok) return { ok: false, issues };
  const inputIssues = checkRunInput(resolved.spec, request.input, 'input');
  return inputIssues.length > 0 ? { ok: false, issues: inputIssues } : { ok: true, pipeline: resolved.spec };
}
