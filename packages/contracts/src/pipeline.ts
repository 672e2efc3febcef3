import { z } from 'zod';
import { type ApprovalEscalation, type ApprovalOnTimeout } from './approval.js';
import { JsonSchemaDoc, StepId } from './common.js';
import { BudgetPolicy, PipelineDefaults, RunLimits, ToolRef, type ApprovalPolicy } from './pipeline-policy.js';
import { AgentStep, EndStep, LlmStep, MapStep, SignalStep, SubPipelineStep } from './pipeline-steps.js';

/**
 * A tool the pipeline may call: a NATS service answering `pw.tools.<name>`. A tool that registers itself
 * (see `ToolRegistration`) needs no entry here, or an entry without `input`: the planner resolves its
 * description and schema at submit, and refuses a tool nobody registered. A schema given here must match
 * the registered one.
 */
export const ToolDecl = z
  .strictObject({
    /** For the model. @default the registered description (as long as a ToolDescription's, so a resolved one fits) */
    description: z.string().min(1).max(4000).optional(),
    /** JSON Schema of the arguments; calls are validated against it before they run. @default the registered schema */
    input: JsonSchemaDoc.optional(),
    /** Per-call timeout. @default 10000 */
    timeoutMs: z.number().int().min(1).max(600_000).optional(),
  })
  .strict();
export type ToolDecl = z.infer<typeof ToolDecl>;

/** A tool as a run holds it once resolved at submit: description and schema always present. */
export type ResolvedTool = ToolDecl & { description: string; input: JsonSchemaDoc };

/** A step: `kind` defaults to `llm`. */
export const Step = z.preprocess(
  (v) => (v !== null && typeof v === 'object' && !('kind' in v) ? { ...v, kind: 'llm' } : v),
  z.discriminatedUnion('kind', [LlmStep, AgentStep, MapStep, SignalStep, EndStep, SubPipelineStep]),
);
export type Step = LlmStep | AgentStep | MapStep | SignalStep | EndStep | SubPipelineStep;
/** A step that calls a model itself (a map's items are such steps too). */
export type ModelStep = LlmStep | AgentStep;
export const isModelStep = (s: Step): s is ModelStep => s.kind === 'llm' || s.kind === 'agent';

export { PipelineDefaults, RunLimits, RunBudget, BudgetPolicy, ApprovalPolicy } from './pipeline-policy.js';
export { LlmStep, AgentStep, MapStep, MapItemStep, SignalStep, EndStep, SubPipelineStep } from './pipeline-steps.js';

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
    /** Tools the pipeline's agent steps may call, by name (a registered tool may be left out). */
    tools: z.record(ToolRef, ToolDecl).default({}),
    /** The step whose output is the run's result. @default the last step in `steps` */
    output: StepId.optional(),
    steps: z.array(Step).min(1).max(1000),
  })
  .strict();
export type PipelineSpec = z.infer<typeof PipelineSpec>;
export type PipelineSpecInput = z.input<typeof PipelineSpec>;


/** A tool of a run: resolved at submit, so description and schema are there (throws if the spec was never resolved). */
export function resolvedTool(spec: Pick<PipelineSpec, 'tools'>, name: string): ResolvedTool {
  const decl = spec.tools[name];
  if (!decl?.input || decl.description === undefined) throw new Error(`tool "${name}" was not resolved at submit`);
  return decl as ResolvedTool;
}

/** The longest id of a map step: its items' ids (`<id>__<index>`) must still be step ids. */
export const MAX_MAP_ID_LENGTH = 56;

/** The id of a map's item: `<map id>__<index>` (`__<digits>` at the end of a step id is reserved for items). */
export const itemStepId = (mapId: string, index: number): string => `${mapId}__${index}`;

const ITEM_ID = /^(.+)__(0|[1-9][0-9]{0,5})$/;

/** The map and index of an item's step id, or undefined for any other id. */
export function parseItemStepId(id: string): { mapId: string; index: number } | undefined {
  const m = ITEM_ID.exec(id);
  return m ? { mapId: m[1]!, index: Number(m[2]) } : undefined;
}

/** Whether a step id has the form reserved for map items. */
export const looksLikeItemId = (id: string): boolean => ITEM_ID.test(id);

/**
 * The step spec behind a step id of a run: a step of the pipeline, or, for a map's item, the map's
 * `step` with the item's id (and the map's needs, so templates check alike). Undefined when unknown.
 */
export function stepSpecOf(spec: Pick<PipelineSpec, 'steps'>, stepId: string): Step | undefined {
  const own = spec.steps.find((s) => s.id === stepId);
  if (own) return own;
  const item = parseItemStepId(stepId);
  const map = item && spec.steps.find((s) => s.id === item.mapId);
  if (!map || map.kind !== 'map') return undefined;
  return { ...map.step, id: stepId, needs: map.needs };
}

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
  if (!isModelStep(step) || step.approval === false) return undefined;
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
