import { checkPipeline, checkRunInput, type RunRequest, type ValidationIssue } from '@pipewright/contracts';

/**
 * Checks a decoded run request before it becomes a run: the pipeline's structure and templates, and the
 * input against the pipeline. Issue paths are relative to the request (`pipeline.steps[1].needs[0]`).
 */
export function admit(request: RunRequest): { ok: true } | { ok: false; issues: ValidationIssue[] } {
  const checked = checkPipeline(request.pipeline, ['pipeline']);
  if (!checked.ok) return checked;
  const issues = checkRunInput(checked.spec, request.input, 'input');
  return issues.length > 0 ? { ok: false, issues } : { ok: true };
}
