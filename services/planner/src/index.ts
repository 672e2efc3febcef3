// The planner's pure core, exported for tests and tools (the service itself starts from main.ts).
export { decide } from './core/decide.js';
export type { Transition } from './core/decide.js';
export { admit } from './core/admit.js';
export { buildCommand, readySteps, templateContext, outputStepId, primaryModel } from './core/dispatch.js';
export type { PlannerEvent, Outgoing, DecisionDraft } from './core/events.js';
export { createPlannerMetrics, recordTransition } from './metrics.js';
export type { PlannerMetrics } from './metrics.js';
