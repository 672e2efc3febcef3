import { comparisonsOf, parseTemplate } from '@pipewright/contracts';
import type { StepSpec } from './step-spec.js';

/** The templates of a step (its own, its map item's, a sub-pipeline's input fields). */
function templatesOf(step: StepSpec): string[] {
  switch (step.kind) {
    case 'llm':
    case 'agent':
      return [step.system, step.prompt].filter((t): t is string => t !== undefined);
    case 'map':
      return [step.step.system, step.step.prompt].filter((t): t is string => t !== undefined);
    case 'pipeline':
      return Object.values(step.input ?? {});
    default:
      return [];
  }
}

/** The value paths of a step: its condition's, a map's `over`, an end step's `result`. */
function pathsOf(step: StepSpec): string[] {
  const paths = step.when ? comparisonsOf(step.when).map((c) => c.path) : [];
  if (step.kind === 'map') paths.push(step.over);
  if (step.kind === 'end' && step.result !== undefined) paths.push(step.result);
  return paths;
}

/** The steps whose outputs a step references, in order of first reference. */
export function referencedSteps(step: StepSpec): string[] {
  const paths = pathsOf(step);
  for (const t of templatesOf(step)) {
    const parsed = parseTemplate(t);
    if (parsed.ok) paths.push(...parsed.refs.map((r) => r.path));
  }
  const ids = paths.flatMap((p) => {
    const [root, id] = p.split('.');
    return root === 'steps' && id !== undefined ? [id] : [];
  });
  return [...new Set(ids)];
}

/** A step's needs: the ones given, then the steps its references name (never itself). */
export function inferNeeds(step: StepSpec, explicit: readonly string[] = []): string[] {
  return [...new Set([...explicit, ...referencedSteps(step)])].filter((id) => id !== step.id);
}
