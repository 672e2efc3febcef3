import { checkPipeline, checkRunInput, type RunRequest, type ValidationIssue } from '@pipewright/contracts';
import { checkMapState } from './map-state.js';

export interface AdmitOptions {
  /** PW_RUN_STATE_MAX_BYTES: maps whose items could not fit in the run's state are refused. */
  maxStateBytes?: number;
}

/**
 * Checks a decoded run request before it becomes a run: the pipeline's structure and templates, and the
 * input against the pipeline. Issue paths are relative to the request (`pipeline.steps[1].needs[0]`).
 */
export function admit(request: RunRequest, opts: AdmitOptions = {}): { ok: true } | { ok: false; issues: ValidationIssue[] } {
  const checked = checkPipeline(request.pipeline, ['pipeline']);
  if (!checked.ok) return checked;
  const spec = checked.spec;
  const issues: ValidationIssue[] = [];
  spec.steps.forEach((s, i) => {
    if (s.kind === 'agent')
      s.tools.forEach((t, j) => {
        // TODO(registry): resolve undeclared tools from the tool registry.
        const d = spec.tools[t];
        if (!d?.input || !d.description) issues.push({ path: `pipeline.steps[${i}].tools[${j}]`, message: `tool "${t}" is not declared with a description and input schema in the pipeline's tools` });
      });
  });
  if (opts.maxStateBytes !== undefined) {
    const maps = spec.steps.flatMap((step, index) => (step.kind === 'map' ? [{ step, index }] : []));
    issues.push(...checkMapState(request, maps, opts.maxStateBytes));
  }
  if (issues.length > 0) return { ok: false, issues };
  const inputIssues = checkRunInput(spec, request.input, 'input');
  return inputIssues.length > 0 ? { ok: false, issues: inputIssues } : { ok: true };
}
