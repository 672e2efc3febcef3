import type { Span } from '@opentelemetry/api';
import type { JsonSchemaDoc, ToolRegistration, ToolRequest } from '@pipewright/contracts';
import type { Logger } from '@pipewright/kit';
import type { ReceiptStore } from '../receipts/types.js';
import type { SchemaLike, ValueOf } from './schema.js';

/** Handlers running at once in one process, by default. */
export const DEFAULT_TOOL_CONCURRENCY = 16;
/** How long a handler may run before the caller is answered `timeout`, by default. */
export const DEFAULT_TOOL_TIMEOUT_MS = 30_000;
/** How long `stop()` waits for running handlers before aborting them, by default. */
export const DEFAULT_STOP_GRACE_MS = 10_000;

/** What a handler knows about the call besides its arguments. */
export interface ToolContext {
  readonly request: ToolRequest;
  /** `<runId>:<stepId>:<callId>`: pass it on to anything with effects (an API's Idempotency-Key). */
  readonly idempotencyKey: string;
  /** The caller's deadline, when it sent one. */
  readonly deadlineAt: Date | undefined;
  /** Aborted at the tool's timeout, at the caller's deadline, and when shutdown's grace runs out. */
  readonly signal: AbortSignal;
  /** The `execute_tool <name>` span, a child of the caller's span. */
  readonly span: Span;
  readonly log: Logger | undefined;
}

export interface ToolSpec<I extends SchemaLike> {
  /** The tool's name: its subject is `pw.tools.<name>`, and the model calls it by this name. */
  name: string;
  /** For the model: what the tool does and when to use it. */
  description: string;
  /** The tool's own version, published in its description. @default '1' */
  version?: string;
  /** Schema of the arguments (zod, or a JSON Schema document). Invalid arguments never reach the handler. */
  input: I;
  /** Schema of the result. A result that breaks it is answered `invalid_result` (never passed on). */
  output?: SchemaLike | undefined;
  /**
   * Does the work and returns a JSON value. Throws ToolCallError (a retry cannot help) or
   * ToolRetryableError (it may); anything else is answered `tool_failed`, retryable.
   */
  handler: (args: ValueOf<I>, ctx: ToolContext) => Promise<unknown>;
  /** Handlers running at once in this process. @default 16 */
  concurrency?: number;
  /** Calls waiting for a slot before new ones are answered `busy`. @default 10 × concurrency */
  maxWaiting?: number;
  /** A handler still running after this is answered `timeout` (retryable) and its signal aborted. @default 30_000 */
  timeoutMs?: number;
  /**
   * Receipts by idempotency key: a repeated call gets the stored reply (`cached: true`) instead of
   * running again. Without it every call runs (fine for tools without effects).
   */
  dedupe?: ReceiptStore | undefined;
  log?: Logger | undefined;
  /**
   * Write the tool's entry (description, schemas, version) in the tool registry (KV `pw_tools`) once it
   * serves, retrying until the bucket exists, so pipelines may name the tool without its schema. Needs
   * the bus permission to write `$KV.pw_tools.<name>` (the `tools` role has it). @default true
   */
  register?: boolean;
}

export interface ToolHandle {
  readonly name: string;
  /** The description this tool answers on `pw.tools.<name>.describe`. */
  readonly description: { name: string; description: string; input: JsonSchemaDoc; output?: JsonSchemaDoc; version: string };
  /** The registry entry once written; undefined when `register: false` or stopped before it was written. */
  readonly registered: Promise<ToolRegistration | undefined>;
  /** Handlers running now. */
  inFlight(): number;
  /** Stops taking calls, waits for running handlers up to `graceMs`, then aborts their signals. */
  stop(graceMs?: number): Promise<void>;
}
