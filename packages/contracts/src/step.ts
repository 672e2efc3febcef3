import { z } from 'zod';
import { ErrorInfo, JsonSchemaDoc, ModelTarget, PoolName, RunId, SchemaVersion, StepId, TenantId, Timestamp, Usage } from './common.js';
import { RetryPolicy } from './retry-policy.js';
import { Spend, TaskKind } from './task.js';
import { ToolCallId, ToolName } from './tool.js';

/** A tool call the model made (OpenAI's function-call shape, arguments as parsed JSON). */
export const ToolCall = z.strictObject({ id: z.string().min(1), name: z.string().min(1), arguments: z.unknown() });
export type ToolCall = z.infer<typeof ToolCall>;

export const ChatMessage = z.strictObject({
  role: z.enum(['system', 'user', 'assistant', 'tool']),
  content: z.string(),
  /** On an assistant message: the tool calls it made. */
  toolCalls: z.array(ToolCall).optional(),
  /** On a tool message: the call it answers. */
  toolCallId: z.string().optional(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

/** A model call as the executor makes it: everything is resolved, nothing refers to run state. */
export const LlmCall = z.strictObject({
  model: ModelTarget,
  fallbacks: z.array(ModelTarget).default([]),
  messages: z.array(ChatMessage).min(1),
  /** JSON Schema the answer must satisfy; sent as `response_format: json_schema`. */
  responseSchema: JsonSchemaDoc.optional(),
  maxOutputTokens: z.number().int().positive().optional(),
  temperature: z.number().min(0).max(2).optional(),
});
export type LlmCall = z.infer<typeof LlmCall>;

/**
 * Work for an executor, published by the planner to `pw.steps.<pool>.dispatch` with
 * `Nats-Msg-Id = <runId>:<stepId>:<attempt>`.
 */
export const StepCommand = z
  .strictObject({
    schemaVersion: SchemaVersion,
    runId: RunId,
    stepId: StepId,
    /** Dispatch number of this step in this run, from 1. */
    attempt: z.number().int().min(1),
    pool: PoolName,
    /** `llm`: one answer. `agent-turn`: one turn of an agent step, offered `tools`; its output is an AgentAction. */
    kind: z.enum(['llm', 'agent-turn']),
    call: LlmCall,
    /** Agent turns: the iteration, from 1. */
    turn: z.number().int().min(1).optional(),
    /** Agent turns: the tools the model may call. */
    tools: z.array(z.strictObject({ name: z.string(), description: z.string(), input: JsonSchemaDoc })).optional(),
    timeoutMs: z.number().int().positive(),
    retry: RetryPolicy,
    /** The run's deadline; the executor gives up at this instant. */
    deadlineAt: Timestamp.optional(),
    /** What the executor needs to reserve budget before each model call. */
    budget: z
      .strictObject({
        tenant: TenantId,
        pipeline: z.string(),
        maxUsd: z.number().positive().optional(),
        maxTokens: z.number().int().positive().optional(),
        failClosed: z.boolean(),
        /** The pipeline's `budget.onExceeded`: with `wait`, a full pipeline or tenant window makes the step wait for room. */
        onExceeded: z.enum(['fail', 'ask', 'wait']).optional(),
      })
      .optional(),
  })
  .strict();
export type StepCommand = z.infer<typeof StepCommand>;

/**
 * A tool call for the executor to perform, published by the planner to `pw.steps.<pool>.tool` once it
 * has validated the call against the declared tool. The tool receives `idempotencyKey`.
 */
export const ToolCommand = z
  .strictObject({
    schemaVersion: SchemaVersion,
    runId: RunId,
    stepId: StepId,
    turn: z.number().int().min(1),
    attempt: z.number().int().min(1),
    pool: PoolName,
    kind: z.literal('tool'),
    tool: ToolName,
    callId: ToolCallId,
    arguments: z.unknown(),
    /** `<runId>:<stepId>:<callId>`: the same for every retry, so the tool can dedupe. */
    idempotencyKey: z.string().min(1),
    timeoutMs: z.number().int().positive(),
    retry: RetryPolicy,
    deadlineAt: Timestamp.optional(),
  })
  .strict();
export type ToolCommand = z.infer<typeof ToolCommand>;

/** What an agent turn produced: a tool call, or the final answer. */
/** The model's own confidence in an action, in [0, 1], when it reports one (approval policies read it). */
const ActionConfidence = z.number().min(0).max(1).optional();
// Not a message: a model's own output, parsed by the planner. Models add fields of their own (`thought`,
// `plan`); they are ignored rather than sent round the repair ladder, and never travel further.
export const AgentAction = z.discriminatedUnion('action', [
  z.looseObject({ action: z.literal('tool'), call: ToolCall, reasoning: z.string().optional(), confidence: ActionConfidence }),
  z.looseObject({ action: z.literal('final'), output: z.unknown(), reasoning: z.string().optional(), confidence: ActionConfidence }),
]);
export type AgentAction = z.infer<typeof AgentAction>;

/** Which rung of the output repair ladder produced an output. */
export const RepairRung = z.enum(['direct', 'tolerant-parse', 're-ask', 'fallback-model']);
export type RepairRung = z.infer<typeof RepairRung>;

const StepResultBase = {
  schemaVersion: SchemaVersion,
  runId: RunId,
  stepId: StepId,
  attempt: z.number().int().min(1),
  /** What produced the result: a plain model call (absent), an agent turn (output: AgentAction), or a tool call. */
  task: TaskKind.optional(),
  /** Agent turns and tool calls: the iteration they belong to. */
  turn: z.number().int().min(1).optional(),
  /** Model calls made for this dispatch, including retries. */
  calls: z.number().int().nonnegative(),
  usage: Usage,
  /** What the calls cost, from the budget service's price table (absent when unmetered). */
  costUsd: z.number().nonnegative().optional(),
  /** Each metered call of this delivery: what the budget service books from this record. */
  spend: z.array(Spend).max(1_000).optional(),
  /** The executor process that held the task (absent when the planner wrote the result). */
  owner: z.string().max(128).optional(),
  latencyMs: z.number().nonnegative(),
  at: Timestamp,
};

/** Published by the executor as the event `step.completed`. */
export const StepCompleted = z
  .strictObject({
    ...StepResultBase,
    type: z.literal('step.completed'),
    /** The model that answered; for tool calls, `{ provider: 'tool', model: <tool name> }`. */
    model: ModelTarget,
    output: z.unknown(),
    rung: RepairRung.default('direct'),
  })
  .strict();
export type StepCompleted = z.infer<typeof StepCompleted>;

/** Published by the executor as the event `step.failed`, once its retries are spent or the error is terminal. */
export const StepFailed = z
  .strictObject({
    ...StepResultBase,
    type: z.literal('step.failed'),
    model: ModelTarget.optional(),
    error: ErrorInfo,
  })
  .strict();
export type StepFailed = z.infer<typeof StepFailed>;

export const StepResult = z.discriminatedUnion('type', [StepCompleted, StepFailed]);
export type StepResult = z.infer<typeof StepResult>;

