import { z } from 'zod';
import { ModelTarget, RunId, SchemaVersion, StepId, TenantId, Timestamp, Usage } from './common.js';

/**
 * Budget messages travel request-reply on core NATS (`pw.budget.*`), never on a subject a stream
 * captures. A reservation is a lease: if it is neither committed nor released before `expiresAt`, the
 * budget service returns it to the pool, so a dead executor leaks nothing.
 */
export const BudgetReserveRequest = z
  .object({
    schemaVersion: SchemaVersion,
    /** Deterministic per model call (`<runId>:<stepId>:<attempt>:<call>`), so a retried request is the same reservation. */
    reservationId: z.string().min(1).max(200),
    runId: RunId,
    stepId: StepId,
    tenant: TenantId,
    pipeline: z.string(),
    model: ModelTarget,
    estimatedInputTokens: z.number().int().nonnegative(),
    maxOutputTokens: z.number().int().nonnegative(),
    estimatedUsd: z.number().nonnegative(),
    leaseMs: z.number().int().positive().max(3_600_000),
  })
  .strict();
export type BudgetReserveRequest = z.infer<typeof BudgetReserveRequest>;

export const BudgetReserveReply = z.discriminatedUnion('outcome', [
  z.object({ schemaVersion: SchemaVersion, outcome: z.literal('granted'), reservationId: z.string(), expiresAt: Timestamp }),
  z.object({
    schemaVersion: SchemaVersion,
    outcome: z.literal('denied'),
    reservationId: z.string(),
    /** Which limit denied it, e.g. `run.maxUsd`. */
    limit: z.string(),
    reason: z.string(),
  }),
]);
export type BudgetReserveReply = z.infer<typeof BudgetReserveReply>;

export const BudgetCommitRequest = z
  .object({ schemaVersion: SchemaVersion, reservationId: z.string().min(1), usage: Usage, usd: z.number().nonnegative() })
  .strict();
export type BudgetCommitRequest = z.infer<typeof BudgetCommitRequest>;

export const BudgetReleaseRequest = z
  .object({ schemaVersion: SchemaVersion, reservationId: z.string().min(1), reason: z.string().max(1000) })
  .strict();
export type BudgetReleaseRequest = z.infer<typeof BudgetReleaseRequest>;

/** Reply to commit and release: both are idempotent, so a repeat answers `ok` with `repeated: true`. */
export const BudgetAck = z.object({ schemaVersion: SchemaVersion, ok: z.boolean(), repeated: z.boolean().default(false), error: z.string().optional() });
export type BudgetAck = z.infer<typeof BudgetAck>;

export const BudgetScope = z.enum(['run', 'pipeline', 'tenant']);
export const BudgetStatusRequest = z.object({ schemaVersion: SchemaVersion, scope: BudgetScope, id: z.string().min(1) }).strict();
export type BudgetStatusRequest = z.infer<typeof BudgetStatusRequest>;

export const BudgetStatusReply = z.object({
  schemaVersion: SchemaVersion,
  scope: BudgetScope,
  id: z.string(),
  committedUsd: z.number().nonnegative(),
  reservedUsd: z.number().nonnegative(),
  committedTokens: z.number().int().nonnegative(),
  reservedTokens: z.number().int().nonnegative(),
  limitUsd: z.number().nonnegative().optional(),
  limitTokens: z.number().int().nonnegative().optional(),
});
export type BudgetStatusReply = z.infer<typeof BudgetStatusReply>;
