import type { ValidationIssue } from '@pipewright/contracts';

/** A pipeline the contracts' check refuses: `issues` names each field by its path in the spec. */
export class PipelineSpecError extends Error {
  override readonly name = 'PipelineSpecError';
  constructor(
    readonly pipeline: string,
    readonly issues: readonly ValidationIssue[],
  ) {
    super(`pipeline "${pipeline}" is invalid:\n${issues.map((i) => `  ${i.path || '(spec)'}: ${i.message}`).join('\n')}`);
  }
}
