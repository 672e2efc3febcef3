import { z } from 'zod';
import { ErrorInfo, ModelTarget, RunId, SchemaVersion, StepId, TenantId, Timestamp, Usage } from './common.js';
import { ModelPrice } from './money.js';

/**
 * Budget messages travel request-reply on core NATS (`pw.budget.*`), never on a subject a stream
 * captures. A reservation is a lease: once `expiresAt` passes it no longer counts against any limit,
 * so a dead executor leaks nothing. USD figures are computed by the budget service from its price
 * table (exact to 1e-9 USD); callers never send prices.
 */

/** Deterministic per model call: `<runId>:<stepId>:<attempt>:<call>`. A retried request is the same reservation. */
export const ReservationId = z
  .string()
  .regex(/^[A-Za-z0-9_:-]{1,200}$/, 'a reservation id is 1-200 letters, digits, "_", "-" or ":" (e.g. "<runId>:<stepId>:<attempt>:<call>")');
export type ReservationId = z.infer<typeof ReservationId>;

/** Pipeline names as in the pipeline spec. */
const PipelineName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'a pipeline name is 1-128 letters, digits, ".", "_" or "-"');

/** The run's own limits, from its pipeline spec (`budget`) or run request; the latest request's limits apply. */
export const BudgetRunLimits = z
  .strictObject({
    maxUsd: z.number().positive().optional(),
    maxTokens: z.number().int().positive().optional(),
  })
  .strict();
export type BudgetRunLimits = z.infer<typeof BudgetRunLimits>;

export const BudgetReserveRequest = z
  .strictObject({
    schemaVersion: SchemaVersion,
    reservationId: ReservationId,
    runId: RunId,
    stepId: StepId,
    tenant: TenantId,
    pipeline: PipelineName,
    model: ModelTarget,
    /** Prompt tokens counted with a real tokenizer, chat-format overhead included. */
    estimatedInputTokens: z.number().int().nonnegative().max(100_000_000),
    /** The output cap the executor sends as `max_completion_tokens`; reserved in full. */
    maxOutputTokens: z.number().int().nonnegative().max(100_000_000),
    /** How long the reservation holds without a commit or release. */
    leaseMs: z.number().int().min(100).max(3_600_000),
    limits: BudgetRunLimits.default({}),
  })
  .strict();
export type BudgetReserveRequest = z.infer<typeof BudgetReserveRequest>;
export type BudgetReserveRequestInput = z.input<typeof BudgetReserveRequest>;

/** Any budget request that could not be served: `invalid_request` names the field in `error.path`. */
export const BudgetErrorReply = z.strictObject({ schemaVersion: SchemaVersion, outcome: z.literal('error'), error: ErrorInfo });
export type BudgetErrorReply = z.infer<typeof BudgetErrorReply>;

/** Which limit denied a reservation: `<scope>.<maxUsd|maxTokens>`, or `price` (no price for the model while a USD limit applies). */
export const BudgetLimitName = z.enum(['run.maxUsd', 'run.maxTokens', 'pipeline.maxUsd', 'pipeline.maxTokens', 'tenant.maxUsd', 'tenant.maxTokens', 'price']);
export type BudgetLimitName = z.infer<typeof BudgetLimitName>;

export const BudgetGranted = z.strictObject({
  schemaVersion: SchemaVersion,
  outcome: z.literal('granted'),
  reservationId: z.string(),
  reservedUsd: z.number().nonnegative(),
  reservedTokens: z.number().int().nonnegative(),
  expiresAt: Timestamp,
  /**
   * The price the reservation was granted at (absent: the model has no price, its calls cost $0). The
   * commit charges usage at this price, and the executor reports a call's cost with it (`usageCost`).
   */
  price: ModelPrice.optional(),
  /** True when this answers a repeated request for a reservation already granted. */
  repeated: z.boolean(),
});
export const BudgetDenied = z.strictObject({
  schemaVersion: SchemaVersion,
  outcome: z.literal('denied'),
  reservationId: z.string(),
  limit: BudgetLimitName,
  reason: z.string(),
  /** What is left under the denying limit (USD or tokens, after committed and reserved use). */
  remaining: z.number(),
  /**
   * Pipeline and tenant (rolling-window) limits: when enough spend will have left the window for this
   * reservation to fit, if nothing else is spent meanwhile. Absent for run limits, which never free up.
   */
  retryAfterMs: z.number().int().nonnegative().optional(),
  repeated: z.boolean(),
});
export const BudgetReserveReply = z.discriminatedUnion('outcome', [BudgetGranted, BudgetDenied, BudgetErrorReply]);
export type BudgetReserveReply = z.infer<typeof BudgetReserveReply>;

export const BudgetCommitRequest = z
  .strictObject({
    schemaVersion: SchemaVersion,
    reservationId: ReservationId,
    runId: RunId,
    tenant: TenantId,
    pipeline: PipelineName,
    /** The model that was actually called (priced by the budget service). */
    model: ModelTarget,
    /** Usage as the provider reported it; `inputTokens` includes `cachedInputTokens`. */
    usage: Usage,
  })
  .strict();
export type BudgetCommitRequest = z.infer<typeof BudgetCommitRequest>;

export const BudgetReleaseRequest = z
  .strictObject({ schemaVersion: SchemaVersion, reservationId: ReservationId, runId: RunId, reason: z.string().max(1000) })
  .strict();
export type BudgetReleaseRequest = z.infer<typeof BudgetReleaseRequest>;

/** The state a reservation was in when a commit or release reached it. */
export const ReservationState = z.enum(['unknown', 'reserving', 'held', 'denied', 'committed', 'released', 'expired']);
export type ReservationState = z.infer<typeof ReservationState>;

export const BudgetCommitted = z.strictObject({
  schemaVersion: SchemaVersion,
  outcome: z.literal('committed'),
  reservationId: z.string(),
  /** What this call cost by the price table (on a repeat: what the first commit charged). */
  chargedUsd: z.number().nonnegative(),
  chargedTokens: z.number().int().nonnegative(),
  /** True when the reservation was already committed: nothing was counted again. */
  repeated: z.boolean(),
  previous: ReservationState,
  /** The lease had expired (or was released) before the commit: the usage is recorded all the same. */
  late: z.boolean(),
});
export const BudgetReleased = z.strictObject({
  schemaVersion: SchemaVersion,
  outcome: z.literal('released'),
  reservationId: z.string(),
  /** True when there was nothing left to release (released, committed, expired or unknown before). */
  repeated: z.boolean(),
  previous: ReservationState,
});
export const BudgetCommitReply = z.discriminatedUnion('outcome', [BudgetCommitted, BudgetErrorReply]);
export type BudgetCommitReply = z.infer<typeof BudgetCommitReply>;
export const BudgetReleaseReply = z.discriminatedUnion('outcome', [BudgetReleased, BudgetErrorReply]);
export type BudgetReleaseReply = z.infer<typeof BudgetReleaseReply>;
/** Reply to commit or release (both idempotent: a repeat says `repeated: true` and changes nothing). */
export const BudgetAck = z.discriminatedUnion('outcome', [BudgetCommitted, BudgetReleased, BudgetErrorReply]);
export type BudgetAck = z.infer<typeof BudgetAck>;

export const BudgetScope = z.enum(['run', 'pipeline', 'tenant']);
export type BudgetScope = z.infer<typeof BudgetScope>;
export const BudgetStatusRequest = z.strictObject({ schemaVersion: SchemaVersion, scope: BudgetScope, id: z.string().min(1).max(200) }).strict();
export type BudgetStatusRequest = z.infer<typeof BudgetStatusRequest>;

export const BudgetStatus = z.strictObject({
  schemaVersion: SchemaVersion,
  outcome: z.literal('status'),
  scope: BudgetScope,
  id: z.string(),
  /** Spent (committed) in the scope: all time for a run, the rolling window for a pipeline or tenant. */
  committedUsd: z.number().nonnegative(),
  committedTokens: z.number().int().nonnegative(),
  /** Held by live (unexpired) reservations. */
  reservedUsd: z.number().nonnegative(),
  reservedTokens: z.number().int().nonnegative(),
  /** Live reservations and committed calls counted above. */
  openReservations: z.number().int().nonnegative(),
  calls: z.number().int().nonnegative(),
  limitUsd: z.number().positive().optional(),
  limitTokens: z.number().int().positive().optional(),
  /** Length of the rolling window (pipeline and tenant scopes). */
  windowHours: z.number().int().positive().optional(),
  at: Timestamp,
});
export type BudgetStatus = z.infer<typeof BudgetStatus>;
export const BudgetStatusReply = z.discriminatedUnion('outcome', [BudgetStatus, BudgetErrorReply]);
export type BudgetStatusReply = z.infer<typeof BudgetStatusReply>;
