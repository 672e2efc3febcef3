import { createHash } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson } from './request-digest.js';
import { ErrorInfo, JsonSchemaDoc, RunId, SchemaVersion, StepId, Timestamp } from './common.js';
import { subjects } from './subjects.js';

/**
 * The tool protocol. A tool is anything that answers requests on `pw.tools.<name>` (core NATS
 * request-reply, queue group `tool-<name>`, never a subject a stream captures), in any language.
 * Every call carries a deterministic idempotency key, so a tool with effects (a refund) can make a
 * repeated call return its first result instead of acting twice. See docs/tools.md.
 */

/** Tool names appear in subjects and are the function names a model sees (OpenAI: `^[a-zA-Z0-9_-]{1,64}$`). */
export const ToolName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, 'a tool name starts with a letter and has up to 64 letters, digits, "_" or "-" (it is used in subjects)');
export type ToolName = z.infer<typeof ToolName>;

/** A call id is unique within one step and the same on every redelivery of the same call (e.g. `t3-0`: turn 3, call 0). */
export const ToolCallId = z
  .string()
  .regex(/^[^\s:]{1,128}$/, 'a call id is 1-128 characters without spaces or ":"');

/** The idempotency key of one tool call: `<runId>:<stepId>:<callId>`. The same call always gets the same key. */
export function toolIdempotencyKey(runId: string, stepId: string, callId: string): string {
  return `${runId}:${stepId}:${callId}`;
}

/** A request on `pw.tools.<name>`. W3C `traceparent` travels in the NATS headers, not in the body. */
export const ToolRequest = z
  .strictObject({
    schemaVersion: SchemaVersion,
    tool: ToolName,
    callId: ToolCallId,
    /** `<runId>:<stepId>:<callId>`: a tool with effects performs them once per key. */
    idempotencyKey: z.string().min(1).max(300),
    runId: RunId,
    stepId: StepId,
    /**
     * The arguments the model gave, as parsed JSON (normally an object). The tool validates them against
     * its input schema, so a malformed value gets an `invalid_arguments` reply the model can act on.
     */
    arguments: z.unknown(),
    /** The caller gives up at this instant; a tool should not start work it cannot finish by then. */
    deadlineAt: Timestamp.optional(),
  })
  .strict()
  .refine((r) => r.idempotencyKey === toolIdempotencyKey(r.runId, r.stepId, r.callId), {
    path: ['idempotencyKey'],
    message: 'must be `<runId>:<stepId>:<callId>` (deterministic, so a repeated call is recognised)',
  });
export type ToolRequest = z.infer<typeof ToolRequest>;
export type ToolRequestInput = z.input<typeof ToolRequest>;

/**
 * Codes every tool and the client use. Tools may add their own (`order_not_found`); these have a
 * fixed meaning.
 */
export const TOOL_ERROR_CODES = {
  /** The request is not a valid ToolRequest (or names another tool). Not retryable. */
  invalidRequest: 'invalid_request',
  /** The arguments break the tool's input schema; `path` names the field. Not retryable. */
  invalidArguments: 'invalid_arguments',
  /** The tool's result breaks its own output schema (a tool bug). Not retryable. */
  invalidResult: 'invalid_result',
  /** No process serves the tool (NATS no-responders). Retryable. */
  unavailable: 'tool_unavailable',
  /** No reply in time. Retryable; with an idempotency key a retry does not repeat effects. */
  timeout: 'timeout',
  /** The request's deadline had passed. Not retryable. */
  deadlineExceeded: 'deadline_exceeded',
  /** Another call with the same idempotency key is still running. Retryable. */
  inProgress: 'in_progress',
  /** The tool is at its concurrency limit and its queue is full. Retryable. */
  busy: 'busy',
  /** The receipt store could not be reached: effects are not run without a receipt. Retryable. */
  receiptsUnavailable: 'receipts_unavailable',
  /** The reply would exceed the server's max_payload. Not retryable. */
  resultTooLarge: 'result_too_large',
  /** The reply could not be decoded (a tool bug). Not retryable. */
  invalidReply: 'invalid_reply',
  /** The handler failed unexpectedly. Retryable (bounded by the caller's retry policy). */
  failed: 'tool_failed',
} as const;

/** An error from a tool: ErrorInfo plus how long to wait before a retry, when the tool knows. */
export const ToolError = ErrorInfo.extend({
  retryAfterMs: z.number().int().nonnegative().optional(),
});
export type ToolError = z.infer<typeof ToolError>;

export const ToolSuccess = z.strictObject({
  schemaVersion: SchemaVersion,
  ok: z.literal(true),
  /** Any JSON value; valid against the tool's output schema when it declares one. */
  result: z.unknown(),
  /** True when this is the stored result of an earlier call with the same idempotency key. */
  cached: z.boolean().optional(),
});
export type ToolSuccess = z.infer<typeof ToolSuccess>;

export const ToolFailure = z.strictObject({ schemaVersion: SchemaVersion, ok: z.literal(false), error: ToolError });
export type ToolFailure = z.infer<typeof ToolFailure>;

/** The reply to a ToolRequest: a result or an error that says whether a retry can help. */
export const ToolReply = z.discriminatedUnion('ok', [ToolSuccess, ToolFailure]);
export type ToolReply = z.infer<typeof ToolReply>;

/** What a tool says about itself on `pw.tools.<name>.describe` (an empty request). */
export const ToolDescription = z.strictObject({
  schemaVersion: SchemaVersion,
  name: ToolName,
  /** For the model: what the tool does and when to use it. */
  description: z.string().min(1).max(4_000),
  /** JSON Schema of `arguments`. */
  input: JsonSchemaDoc,
  /** JSON Schema of `result`, when the tool declares one. */
  output: JsonSchemaDoc.optional(),
  /** The tool's own version (free form, e.g. `1.2.0`). */
  version: z.string().min(1).max(64),
});
export type ToolDescription = z.infer<typeof ToolDescription>;

/**
 * A tool's entry in the tool registry (KV bucket `pw_tools`, key = the tool's name): what it says about
 * itself, written by the tool when it starts. The planner resolves a pipeline's tools from it at submit.
 */
export const ToolRegistration = ToolDescription.extend({
  /** When the entry was last written. */
  registeredAt: z.string().datetime(),
  /** SHA-256 of the canonical JSON of `input`: the same schema always has the same digest. */
  inputDigest: z.string().regex(/^[0-9a-f]{64}$/),
}).strict();
export type ToolRegistration = z.infer<typeof ToolRegistration>;

/** A tool's `inputDigest`: SHA-256 hex of the canonical JSON of its input schema (key order does not matter). */
export function toolInputDigest(input: JsonSchemaDoc): string {
  return createHash('sha256').update(canonicalJson(input)).digest('hex');
}

/** The registry entry of a tool as it describes itself, written at `at`. */
export function toolRegistration(d: ToolDescription, at: Date): ToolRegistration {
  return { ...d, registeredAt: at.toISOString(), inputDigest: toolInputDigest(d.input) };
}

/**
 * Names of one tool on the bus, derived from `subjects.tool(name)`.
 * TODO(lead): move `describe` and `queue` next to `subjects.tool` in subjects.ts.
 */
export const toolSubjects = {
  call: (name: string) => subjects.tool(name),
  describe: (name: string) => `${subjects.tool(name)}.describe`,
  /** Queue group of every replica of a tool: each call goes to one of them. */
  queue: (name: string) => `tool-${name}`,
} as const;
