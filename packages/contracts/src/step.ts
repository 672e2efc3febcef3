import { z } from 'zod';
import { ErrorInfo, JsonSchemaDoc, ModelTarget, PoolName, RunId, SchemaVersion, StepId, TenantId, Timestamp, Usage } from './common.js';
import { RetryPolicy } from './retry-policy.js';

export const ChatMessage = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

/** A model call as the executor makes it: everything is resolved, nothing refers to run state. */
export const LlmCall = z.object({
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
  .object({
    schemaVersion: SchemaVersion,
    runId: RunId,
    stepId: StepId,
    /** Dispatch number of this step in this run, from 1. */
    attempt: z.number().int().min(1),
    pool: PoolName,
    kind: z.literal('llm'),
    call: LlmCall,
    timeoutMs: z.number().int().positive(),
    retry: RetryPolicy,
    /** The run's deadline; the executor gives up at this instant. */
    deadlineAt: Timestamp.optional(),
    /** What the executor needs to reserve budget before each model call. */
    budget: z
      .object({
        tenant: TenantId,
        pipeline: z.string(),
        maxUsd: z.number().positive().optional(),
        maxTokens: z.number().int().positive().optional(),
        failClosed: z.boolean(),
      })
      .optional(),
  })
  .strict();
export type StepCommand = z.infer<typeof StepCommand>;

/** Which rung of the output repair ladder produced an output. */
export const RepairRung = z.enum(['direct', 'tolerant-parse', 're-ask', 'fallback-model']);
export type RepairRung = z.infer<typeof RepairRung>;

const StepResultBase = {
  schemaVersion: SchemaVersion,
  runId: RunId,
  stepId: StepId,
  attempt: z.number().int().min(1),
  /** Model calls made for this dispatch, including retries. */
  calls: z.number().int().nonnegative(),
  usage: Usage,
  /** What the calls cost, from the budget service's price table (absent when unmetered). */
  costUsd: z.number().nonnegative().optional(),
  latencyMs: z.number().nonnegative(),
  at: Timestamp,
};

/** Published by the executor as the event `step.completed`. */
export const StepCompleted = z
  .object({
    ...StepResultBase,
    type: z.literal('step.completed'),
    model: ModelTarget,
    output: z.unknown(),
    rung: RepairRung.default('direct'),
  })
  .strict();
export type StepCompleted = z.infer<typeof StepCompleted>;

/** Published by the executor as the event `step.failed`, once its retries are spent or the error is terminal. */
export const StepFailed = z
  .object({
    ...StepResultBase,
    type: z.literal('step.failed'),
    model: ModelTarget.optional(),
    error: ErrorInfo,
  })
  .strict();
export type StepFailed = z.infer<typeof StepFailed>;

export const StepResult = z.discriminatedUnion('type', [StepCompleted, StepFailed]);
export type StepResult = z.infer<typeof StepResult>;

