import {
  DEFAULT_RETRY_POLICY,
  DEFAULT_TIMEOUT_MS,
  ModelRef,
  renderTemplate,
  SCHEMA_VERSION,
  type ChatMessage,
  type ModelTarget,
  type PipelineSpec,
  type RunState,
  type ModelStep,
  type Step,
  type StepCommand,
} from '@pipewright/contracts';
import { ownBudget } from './child-budget.js';
import { itemOf, valueAt } from './map-items.js';

/**
 * The template context of a step: the run input and the outputs of the pipeline's steps that finished
 * (a map's items are not among them: a finished map's output is their list). For a map's item
 * (`stepId` `<map>__<i>`) also `item`, the list's element, and `index`.
 */
export function templateContext(state: RunState, stepId?: string): Record<string, unknown> {
  const steps: Record<string, { output: unknown }> = {};
  for (const { id } of state.pipeline.steps) {
    const s = state.steps[id];
    if (s?.status === 'succeeded') steps[id] = { output: s.output };
  }
  const context: Record<string, unknown> = { input: state.input, steps };
  const item = stepId === undefined ? undefined : itemOf(state.pipeline, stepId);
  if (!item) return context;
  const list = valueAt(context, item.map.over);
  return { ...context, item: Array.isArray(list) ? list[item.index] : undefined, index: item.index };
}

const toTarget = (ref: ModelRef): ModelTarget => ModelRef.parse(ref);

/** The step's model: its own, else the pipeline default (checked at submit, so one exists). */
export function primaryModel(step: ModelStep, spec: PipelineSpec): ModelTarget {
  const ref = step.model ?? spec.defaults.model;
  if (ref === undefined) throw new Error(`step ${step.id} has no model (the pipeline check should have refused it)`);
  return toTarget(ref);
}

/**
 * Builds the command for one dispatch of a step: templates rendered, policies resolved from the step,
 * then the pipeline defaults, then the built-in defaults. Throws TemplateError if a value is missing.
 */
export function buildCommand(state: RunState, step: ModelStep, attempt: number): StepCommand {
  const spec = state.pipeline;
  const d = spec.defaults;
  const ctx = templateContext(state, step.id);
  const messages: ChatMessage[] = [];
  if (step.system !== undefined) messages.push({ role: 'system', content: renderTemplate(step.system, ctx) });
  messages.push({ role: 'user', content: renderTemplate(step.prompt, ctx) });
  const maxOutputTokens = step.maxOutputTokens ?? d.maxOutputTokens;
  const temperature = step.temperature ?? d.temperature;
  return {
    schemaVersion: SCHEMA_VERSION,
    runId: state.runId,
    stepId: step.id,
    attempt,
    pool: step.pool ?? d.pool ?? 'default',
    kind: 'llm',
    call: {
      model: primaryModel(step, spec),
      fallbacks: (step.fallbacks ?? d.fallbacks ?? []).map(toTarget),
      messages,
      ...(step.output ? { responseSchema: step.output } : {}),
      ...(maxOutputTokens !== undefined ? { maxOutputTokens } : {}),
      ...(temperature !== undefined ? { temperature } : {}),
    },
    timeoutMs: step.timeoutMs ?? d.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    retry: { ...DEFAULT_RETRY_POLICY, ...stripUndefined(d.retry ?? {}), ...stripUndefined(step.retry ?? {}) },
    deadlineAt: state.deadlineAt,
    budget: {
      tenant: state.tenant,
      pipeline: spec.name,
      // the run's limits less what its sub-pipelines hold (their calls are booked under their own ids)
      ...ownBudget(state),
      failClosed: spec.budget.failClosed,
      ...(spec.budget.onExceeded === 'wait' ? { onExceeded: 'wait' as const } : {}),
    },
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Whether a step is done for the steps that need it: it succeeded, or was skipped. */
export const isDone = (status: string | undefined): boolean => status === 'succeeded' || status === 'skipped';

/** Steps whose needs are all done (succeeded or skipped) and that have not started yet, in spec order. */
export function readySteps(state: RunState): Step[] {
  return state.pipeline.steps.filter((s) => state.steps[s.id]?.status === 'pending' && s.needs.every((n) => isDone(state.steps[n]?.status)));
}

/** The step whose output is the run's result. */
export function outputStepId(spec: PipelineSpec): string {
  return spec.output ?? spec.steps[spec.steps.length - 1]?.id ?? '';
}

/**
 * The largest step command the planner sends: NATS refuses messages over its `max_payload` (1 MiB by
 * default), and the command also sits in the run's outbox. Earlier outputs above the claim-check
 * threshold travel by reference, but a prompt that renders one in full must carry it.
 */
export const MAX_COMMAND_BYTES = 768 * 1024;

const encoder = new TextEncoder();

/** Why a command is too large to send, or undefined when it fits. */
export function oversize(cmd: StepCommand): string | undefined {
  const bytes = encoder.encode(JSON.stringify(cmd)).length;
  if (bytes <= MAX_COMMAND_BYTES) return undefined;
  return `step ${cmd.stepId}: its rendered prompt makes a ${bytes}-byte command, more than the ${MAX_COMMAND_BYTES} bytes a message may carry; reference a field of the large output (e.g. {{steps.x.output.title}}) rather than all of it`;
}
