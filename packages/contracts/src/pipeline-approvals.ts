import type { ValidationIssue } from './common.js';
import { effectiveApproval, isModelStep, type PipelineSpec } from './pipeline.js';

/**
 * Approval policies: every tool they name is one the pipeline declares (and, on a step, one the step
 * offers); an escalating timeout says where to; a timeout action has a timeout; a confidence threshold
 * on an llm step has a `confidence` field to read.
 */
export function checkApprovals(spec: PipelineSpec, at: (...p: PropertyKey[]) => string, issues: ValidationIssue[]): void {
  const d = spec.defaults.approval === false ? undefined : spec.defaults.approval;
  // A registered tool need not be declared in `tools`: naming it in an agent step is enough.
  const offered = new Set(spec.steps.flatMap((s) => (s.kind === 'agent' ? s.tools : s.kind === 'map' && s.step.kind === 'agent' ? s.step.tools : [])));
  d?.tools?.forEach((t, j) => {
    if (!Object.hasOwn(spec.tools, t) && !offered.has(t)) issues.push({ path: at('defaults', 'approval', 'tools', j), message: `tool "${t}" is neither declared in the pipeline's tools nor offered by an agent step` });
  });
  const seen = new Set<string>();
  const add = (path: string, message: string) => {
    if (seen.has(`${path}\n${message}`)) return; // a defaults problem is reported once, not per step
    seen.add(`${path}\n${message}`);
    issues.push({ path, message });
  };
  spec.steps.forEach((s, i) => {
    if (!isModelStep(s)) return;
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
