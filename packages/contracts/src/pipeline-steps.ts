import { z } from 'zod';
import { JsonSchemaDoc, StepId } from './common.js';
import { Condition, ValuePath } from './condition.js';
import { RunBudget, StepPolicyFields, ToolRef } from './pipeline-policy.js';

/** What every step has: its id, the steps it needs, and an optional condition. */
const StepHead = {
  id: StepId,
  description: z.string().max(2000).optional(),
  /** Steps that must succeed (or be skipped) before this one runs. */
  needs: z.array(StepId).max(64).default([]),
  /**
   * Runs the step only when this holds over the input and the outputs of the steps it needs; otherwise
   * the step is `skipped`, and so is every step that needs it.
   */
  when: Condition.optional(),
};

/** What a model step does: the fields of an llm step without its place in the DAG. */
const LlmBody = {
  /** System message template. */
  system: z.string().max(100_000).optional(),
  /** User message template: `{{input.topic}}`, `{{steps.outline.output.title}}`; in a map, `{{item}}`, `{{index}}`. */
  prompt: z.string().min(1).max(100_000),
  /** JSON Schema the output must satisfy. Without it the output is the model's text. */
  output: JsonSchemaDoc.optional(),
  ...StepPolicyFields,
};

const AgentBody = {
  system: z.string().max(100_000).optional(),
  /** The task, a template like an llm step's prompt. */
  prompt: z.string().min(1).max(100_000),
  /** Names of the tools this agent may call: declared in the pipeline's `tools`, or registered by the tool. */
  tools: z.array(ToolRef).min(1).max(64),
  /** JSON Schema of the final answer. Without it the answer is text. */
  output: JsonSchemaDoc.optional(),
  /** Model turns before the guard ends the run. @default 10 */
  maxIterations: z.number().int().min(1).max(1000).default(10),
  /** The same tool with the same arguments this many times ends the run. @default 3 */
  repeatLimit: z.number().int().min(2).max(100).default(3),
  /** Budget of the agent's history (tool calls and results) in tokens; the oldest turns are dropped first. @default 8000 */
  historyTokens: z.number().int().min(256).max(1_000_000).default(8000),
  ...StepPolicyFields,
};

/**
 * An `llm` step: a prompt template rendered over the run input and earlier outputs, sent to a model;
 * with `output` set, the answer must be JSON valid against that schema.
 */
export const LlmStep = z.strictObject({ ...StepHead, kind: z.literal('llm').default('llm'), ...LlmBody }).strict();
export type LlmStep = z.infer<typeof LlmStep>;

/**
 * An `agent` step: each iteration the model returns an action — a call of one of `tools`, or a final
 * answer. The planner validates the action, dispatches the tool call, and feeds the result back.
 */
export const AgentStep = z.strictObject({ ...StepHead, kind: z.literal('agent'), ...AgentBody }).strict();
export type AgentStep = z.infer<typeof AgentStep>;

/** What a map runs for each item: an llm or agent step without id, needs or condition (`kind` defaults to `llm`). */
export const MapItemStep = z.preprocess(
  (v) => (v !== null && typeof v === 'object' && !('kind' in v) ? { ...v, kind: 'llm' } : v),
  z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('llm'), ...LlmBody }).strict(),
    z.strictObject({ kind: z.literal('agent'), ...AgentBody }).strict(),
  ]),
);
export type MapItemStep = z.infer<typeof MapItemStep>;

/**
 * A `map` step: runs `step` once per item of the list at `over` (the input, or an earlier output — a
 * model's structured output too), at most `concurrency` at a time. Each item is a step of its own
 * (id `<map id>__<index>`): its own dispatches, checkpoint, retries and spending, counted against the
 * run's `maxSteps`, budget and deadline. The map's output is the items' outputs, in the list's order.
 */
export const MapStep = z
  .strictObject({
    ...StepHead,
    kind: z.literal('map'),
    /** Where the list is: `input.lines`, `steps.extract.output.lines`. */
    over: ValuePath,
    /** Items in flight at once. @default 4 */
    concurrency: z.number().int().min(1).max(256).default(4),
    /** A longer list fails the step (and the run) before any item runs. @default 1000 */
    maxItems: z.number().int().min(1).max(10_000).default(1000),
    /** What runs for each item; its templates may use `{{item}}`, `{{item.<field>}}` and `{{index}}`. */
    step: MapItemStep,
  })
  .strict();
export type MapStep = z.infer<typeof MapStep>;

/**
 * A `signal` step: waits until a signal of this name is sent to the run (over the API or the bus: a
 * person, a webhook, another system). Its output is the signal's payload. A signal sent before the run
 * reaches the step is kept and taken when it does.
 */
export const SignalStep = z
  .strictObject({
    ...StepHead,
    kind: z.literal('signal'),
    /** The signal's name. @default the step id */
    signal: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
    /** JSON Schema the payload must satisfy; a signal whose payload does not is refused and the step waits on. */
    output: JsonSchemaDoc.optional(),
    /** How long the step waits, from when it starts waiting. @default until the run's deadline */
    timeoutMs: z.number().int().min(1).max(30 * 86_400_000).optional(),
    /** At the timeout: fail the run, or go on with a `null` output. @default "fail" */
    onTimeout: z.enum(['fail', 'continue']).default('fail'),
  })
  .strict();
export type SignalStep = z.infer<typeof SignalStep>;

/**
 * An `end` step: when it runs (its `when:` holds), the run ends at once — `succeeded` with the value at
 * `result` as its output, or `failed` with `reason`. Steps still running are stopped.
 */
export const EndStep = z
  .strictObject({
    ...StepHead,
    kind: z.literal('end'),
    status: z.enum(['succeeded', 'failed']).default('succeeded'),
    /** The run's output: a value the run knows. */
    result: ValuePath.optional(),
    reason: z.string().min(1).max(2000).optional(),
  })
  .strict();
export type EndStep = z.infer<typeof EndStep>;

/**
 * A `pipeline` step: runs another pipeline as a child run (its own id, trace span and checkpoints) and
 * takes the child's output as its own; the child's cost is added to this run's. The child runs within
 * what this run has left: its budget and deadline are at most this run's remaining ones.
 */
export const SubPipelineStep = z
  .strictObject({
    ...StepHead,
    kind: z.literal('pipeline'),
    /** The child pipeline, inline (a pipeline spec; checked at submit like the parent, nested at most 3 deep). */
    pipeline: z.record(z.string(), z.unknown()),
    /** The child's input: each field a template over this run's input and earlier outputs (a lone `{{path}}` keeps the value's type). */
    input: z.record(z.string(), z.string().max(100_000)).default({}),
    /** The child's own limits, within what this run has left. */
    budget: RunBudget.optional(),
  })
  .strict();
export type SubPipelineStep = z.infer<typeof SubPipelineStep>;
