import { checkPipeline, checkRunInput, resolveTools, type PipelineSpec, type RegistryEntry, type RunRequest, type ValidationIssue } from '@pipewright/contracts';
import { checkMapState } from './map-state.js';

export type Admission = { ok: true; pipeline: PipelineSpec } | { ok: false; issues: ValidationIssue[] };

export interface AdmitOptions {
  /** PW_RUN_STATE_MAX_BYTES: maps whose items could not fit in the run's state are refused. */
  maxStateBytes?: number;
}

/**
 * Checks a decoded run request before it becomes a run: the pipeline's structure, templates and limits
 * (with the request's budget over the pipeline's), its tools resolved against the registry entries of
 * the tools it names (`registry`), maps against the run's state limit, and the input against the
 * pipeline. Gives the pipeline the run keeps: every tool resolved, so nothing later depends on the
 * registry. Issue paths are relative to the request (`pipeline.steps[1].needs[0]`, `budget.maxTokens`).
 */
export function admit(request: RunRequest, registry: ReadonlyMap<string, RegistryEntry>, opts: AdmitOptions = {}): Admission {
  const checked = checkPipeline(request.pipeline, ['pipeline'], 0, request.budget ? { budget: request.budget, at: ['budget'] } : undefined);
  if (!checked.ok) return checked;
  const issues: ValidationIssue[] = [];
  if (opts.maxStateBytes !== undefined) {
    const maps = checked.spec.steps.flatMap((step, index) => (step.kind === 'map' ? [{ step, index }] : []));
    issues.push(...checkMapState(request, maps, opts.maxStateBytes));
  }
  const resolved = resolveTools(checked.spec, registry, ['pipeline']);
  if (!resolved.ok) issues.push(...resolved.issues);
  if (issues.length > 0 || !resolved.ok) return { ok: false, issues };
  const inputIssues = checkRunInput(resolved.spec, request.input, 'input');
  return inputIssues.length > 0 ? { ok: false, issues: inputIssues } : { ok: true, pipeline: resolved.spec };
}
