import { evaluateCondition, type Condition, type RunState, type Step } from '@pipewright/contracts';
import type { Builder } from './builder.js';
import { readySteps, templateContext } from './dispatch.js';

/** How much of a condition a skip reason quotes. */
const QUOTED_CHARS = 300;

/**
 * Why a ready step does not run, or undefined when it runs: a need of it was skipped (skips cascade),
 * or its `when:` is false over the input and the outputs so far.
 */
export function skipReasonOf(state: RunState, step: Step, context: () => Record<string, unknown>): string | undefined {
  const skippedNeed = step.needs.find((n) => state.steps[n]?.status === 'skipped');
  if (skippedNeed !== undefined) return `need ${skippedNeed} was skipped`;
  if (step.when && !evaluateCondition(step.when, context())) return `when: ${quote(step.when)} is false`;
  return undefined;
}

/**
 * Marks `skipped` every ready step that does not run, and the steps that need them, in one pass to a
 * fixed point: each skip is a decision `skip` with its reason. The steps left ready are the ones to start.
 */
export function skipWhatDoesNotRun(b: Builder): void {
  const s = b.state;
  for (;;) {
    let context: Record<string, unknown> | undefined;
    const contextOnce = () => (context ??= templateContext(s));
    let skipped = 0;
    for (const step of readySteps(s)) {
      const reason = skipReasonOf(s, step, contextOnce);
      if (reason === undefined) continue;
      s.steps[step.id] = { ...s.steps[step.id]!, status: 'skipped', skipReason: reason, finishedAt: b.at };
      b.decide('skip', [step.id], `step ${step.id} skipped: ${reason}`);
      skipped++;
    }
    if (skipped === 0) return;
  }
}

function quote(c: Condition): string {
  const text = JSON.stringify(c);
  return text.length <= QUOTED_CHARS ? text : `${text.slice(0, QUOTED_CHARS)}…`;
}
