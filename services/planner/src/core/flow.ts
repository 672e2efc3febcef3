import type { SignalStep, Step, SubPipelineStep } from '@pipewright/contracts';
import type { Builder } from './builder.js';
import { runEnd } from './end.js';
import { startMap } from './map.js';

/**
 * Starting a step that does not call a model itself: a map, a signal wait, an end, a sub-pipeline.
 * Each kind lives in its own file; this only routes. Says whether the run goes on (false when starting
 * the step ended the run).
 */
export function startFlowStep(b: Builder, step: Exclude<Step, { kind: 'llm' | 'agent' }>): boolean {
  switch (step.kind) {
    case 'map':
      return startMap(b, step);
    case 'end':
      return runEnd(b, step);
    case 'signal':
      return startSignal(b, step);
    case 'pipeline':
      return startChild(b, step);
  }
}

// TODO(flow-signal): move to signal.ts / child.ts and implement.
function startSignal(b: Builder, step: SignalStep): boolean {
  b.finish('failed', `step ${step.id}: signal steps are not run by this planner yet`, [step.id]);
  return false;
}

function startChild(b: Builder, step: SubPipelineStep): boolean {
  b.finish('failed', `step ${step.id}: pipeline steps are not run by this planner yet`, [step.id]);
  return false;
}
