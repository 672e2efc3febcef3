import type { Step } from '@pipewright/contracts';
import type { Builder } from './builder.js';
import { startChild } from './child.js';
import { runEnd } from './end.js';
import { startMap } from './map.js';
import { startSignal } from './signal.js';

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
