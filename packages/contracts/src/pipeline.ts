import { z } from 'zod';
import { ApprovalEscalation, ApprovalOnTimeout } from './approval.js';
import { JsonSchemaDoc, ModelRef, PoolName, StepId } from './common.js';
import { RetryPolicy } from './retry-policy.js';

/** A tool's name as the pipeline declares it (a key of `tools`). */
const ToolRef = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

/**
 * When a person must approve (the approver service) before the planner goes on. Any trigger that
 * matches asks; the rest says how long the approval waits and what its timeout does. Set in `defaults`
 * for every step and per step: a step's fields override the defaults' field by field, and
 * `approval: false` on a step turns the defaults off for it.
 */
export const ApprovalPolicy = z
  .strictObject({
    /** The step's output waits for approval before it is accepted and the DAG goes on. */
    always: z.boolean().optional(),
    /** Agent steps: a call of one of these tools is held, before it is dispatched, until approved. */
    tools: z.array(ToolRef).max(64).optional(),
    /**
     * Asks when the model's reported confidence (a numeric `confidence` in [0, 1] in the step's output
     * object, or on an agent's action) is below this.
     */
    confidenceBelow: z.number().min(0).max(1).optional(),
    /** Asks when the run's cost so far (USD, including the step or turn being judged) is above this. */
    costAboveUsd: z.number().nonnegative().optional(),
    /** How long the approval waits, from the request. @default no limit (waits for ever) */
    timeoutMs: z.number().int().min(1).max(30 * 86_400_000).optional(),
    /** What the timeout does: reject, approve, or hand it to `escalation.to`. @default "reject" */
    onTimeout: ApprovalOnTimeout.optional(),
    /** Required with `onTimeout: escalate`. */
    escalation: ApprovalEscalation.optional(),
  })
  .strict();
export type ApprovalPolicy = z.infer<typeof ApprovalPolicy>;

/** Policies a step inherits from the pipeline's `defaults` unless it sets its own. */
const StepPolicyFields = {
  /** Model used when the step names none. */
  model: ModelRef.optional(),
  /** Models tried, in order, when the primary is down (breaker open) or its output cannot be repaired. */
  fallbacks: z.array(ModelRef).max(8).optional(),
  /** Per-call timeout in milliseconds. @default 10000 */
  timeoutMs: z.number().int().min(1).max(3_600_000).optional(),
  retry: RetryPolicy.partial().optional(),
  /** Executor pool that runs the step. @default "default" */
  pool: PoolName.optional(),
  /** Cap of output tokens per call, passed to the model as `max_completion_tokens`. */
  maxOutputTokens: z.number().int().min(1).max(1_000_000).optional(),
  temperature: z.number().min(0).max(2).optional(),
  /** Human approval gates; `false` (on a step) turns off the ones in `defaults`. */
  approval: z.union([ApprovalPolicy, z.literal(false)]).optional(),
};

/**
 * An `llm` step: a prompt template rendered over the run input and earlier outputs, sent to a model;
 * with `output` set, the answer must be JSON valid against that schema.
 */
export const LlmStep = z
  .strictObject({
    id: StepId,
    kind: z.literal('llm').default('llm'),
    description: z.string().max(2000).optional(),
    /** Steps that must succeed before this one runs. */
    needs: z.array(StepId).max(64).default([]),
    /** System message template. */
    system: z.string().max(100_000).optional(),
    /** User message template: `{{input.topic}}`, `{{steps.outline.output.title}}`. */
    prompt: z.string().min(1).max(100_000),
    /** JSON Schema the output must satisfy. Without it the output is the model's text. */
    output: JsonSchemaDoc.optional(),
    ...StepPolicyFields,
  })
  .strict();
export type LlmStep = z.infer<typeof LlmStep>;

/** A tool the pipeline may call: a NATS service answering `pw.tools.<name>`. */
export const ToolDecl = z
  .strictObject({
    description: z.string().min(1).max(2000),
    /** JSON Schema of the arguments; calls are validated against it before they run. */
    input: JsonSchemaDoc,
    /** Per-call timeout. @default 10000 */
    timeoutMs: z.number().int().min(1).max(600_000).optional(),
  })
  .strict();
export type ToolDecl = z.infer<typeof ToolDecl>;

/**
 * An `agent` step: each iteration the model returns an action — a call of one of `tools`, or a final
 * answer. The planner validates the action, dispatches the tool call, and feeds the result back.
 */
export const AgentStep = z
  .strictObject({
    id: StepId,
    kind: z.literal('agent'),
    description: z.string().max(2000).optional(),
    needs: z.array(StepId).max(64).default([]),
    system: z.string().max(100_000).optional(),
    /** The task, a template like an llm step's prompt. */
    prompt: z.string().min(1).max(100_000),
    /** Names of tools (declared in the pipeline's `tools`) this agent may call. */
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
  })
  .strict();
export type AgentStep = z.infer<typeof AgentStep>;

/** A step: `kind` defaults to `llm`. */
export const Step = z.preprocess(
  (v) => (v !== null && typeof v === 'object' && !('kind' in v) ? { ...v, kind: 'llm' } : v),
  z.discriminatedUnion('kind', [LlmStep, AgentStep]),
);
export type Step = z.infer<typeof LlmStep> | z.infer<typeof AgentStep>;

export const PipelineDefaults = z.strictObject(StepPolicyFields).strict();
export type PipelineDefaults = z.infer<typeof PipelineDefaults>;

/** Guards that end a run with a clear reason instead of letting it run away. */
export const RunLimits = z
  .strictObject({
    /** Most step executions in one run (dispatches, counting re-dispatches). @default 100 */
    maxSteps: z.number().int().min(1).max(100_000).default(100),
    /** Wall-clock budget of a run from its start, in milliseconds. @default 3600000 */
    deadlineMs: z.number().int().min(1).max(30 * 86_400_000).default(3_600_000),
  })
  .strict();
export type RunLimits = z.infer<typeof RunLimits>;

/** Spending limits of one run; the budget service enforces them before every model call. */
export const RunBudget = z
  .strictObject({
    maxUsd: z.number().positive().optional(),
    maxTokens: z.number().int().positive().optional(),
  })
  .strict();
export type RunBudget = z.infer<typeof RunBudget>;

export const BudgetPolicy = RunBudget.extend({
  /**
   * When a model call is denied by a limit. `fail`: the run ends as `budget_exhausted`. `ask`: a run
   * limit (`maxUsd`, `maxTokens`) asks a person for more through the approver (proposed: twice the
   * limit reached) and, once approved, runs the step again. `wait`: a pipeline or tenant limit over a
   * rolling window keeps the step waiting (the run shows `paused`) until the window has room, within
   * the run's deadline; a run limit, which never frees up, still fails the run. @default "fail"
   */
  onExceeded: z.enum(['fail', 'ask', 'wait']).default('fail'),
  /**
   * With `onExceeded: ask`: how long the request for more budget waits before it is rejected (the run
   * then ends `budget_exhausted`). @default the timeout of `defaults.approval`, else no limit
   */
  askTimeoutMs: z.number().int().min(1).max(30 * 86_400_000).optional(),
  /** With the budget service unreachable: make no model call (true) or proceed unmetered (false). @default true */
  failClosed: z.boolean().default(true),
}).strict();
export type BudgetPolicy = z.infer<typeof BudgetPolicy>;

export const PipelineSpec = z
  .strictObject({
    /** Identifies the pipeline in listings and metrics. */
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'a pipeline name is 1-128 letters, digits, ".", "_" or "-"'),
    version: z.string().max(64).optional(),
    description: z.string().max(4000).optional(),
    /** JSON Schema of the run input; templates may only reference fields it declares. */
    input: JsonSchemaDoc.optional(),
    defaults: PipelineDefaults.default({}),
    limits: RunLimits.default({ maxSteps: 100, deadlineMs: 3_600_000 }),
    budget: BudgetPolicy.default({ onExceeded: 'fail', failClosed: true }),
    /** Tools the pipeline's agent steps may call, by name. */
    tools: z.record(ToolRef, ToolDecl).default({}),
    /** The step whose output is the run's result. @default the last step in `steps` */
    output: StepId.optional(),
    steps: z.array(Step).min(1).max(1000),
  })
  .strict();
export type PipelineSpec = z.infer<typeof PipelineSpec>;
export type PipelineSpecInput = z.input<typeof PipelineSpec>;

/** The approval policy in force for one step: the defaults with the step's own fields over them. */
export interface EffectiveApproval {
  always: boolean;
  /** Tools whose calls are held: those named that the step offers (empty for llm steps). */
  tools: readonly string[];
  confidenceBelow?: number;
  costAboveUsd?: number;
  timeoutMs?: number;
  onTimeout: ApprovalOnTimeout;
  escalation?: ApprovalEscalation;
}

/** Resolves a step's approval policy; undefined when nothing can ask for approval. Pure. */
export function effectiveApproval(spec: Pick<PipelineSpec, 'defaults'>, step: Step): EffectiveApproval | undefined {
  if (step.approval === false) return undefined;
  const base = spec.defaults.approval === false ? {} : (spec.defaults.approval ?? {});
  const own = step.approval ?? {};
  const pick = <K extends keyof ApprovalPolicy>(k: K): ApprovalPolicy[K] => (own[k] !== undefined ? own[k] : base[k]);
  const offered = step.kind === 'agent' ? new Set(step.tools) : new Set<string>();
  const tools = (pick('tools') ?? []).filter((t) => offered.has(t));
  const confidenceBelow = pick('confidenceBelow');
  const costAboveUsd = pick('costAboveUsd');
  const always = pick('always') === true;
  if (!always && tools.length === 0 && confidenceBelow === undefined && costAboveUsd === undefined) return undefined;
  const timeoutMs = pick('timeoutMs');
  const escalation = pick('escalation');
  return {
    always,
    tools,
    ...(confidenceBelow !== undefined ? { confidenceBelow } : {}),
    ...(costAboveUsd !== undefined ? { costAboveUsd } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    onTimeout: pick('onTimeout') ?? 'reject',
    ...(escalation !== undefined ? { escalation } : {}),
  };
}
