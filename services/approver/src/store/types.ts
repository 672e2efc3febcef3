import { ApprovalChannel, ApprovalDecision, ApprovalRequest, Timestamp } from '@pipewright/contracts';
import { z } from 'zod';

/**
 * What the approver stores. Every implementation (NATS KV, MongoDB) passes one conformance suite;
 * changes are compare-and-set on a version, so the first decision wins without transactions.
 */

export const ApprovalStatus = z.enum(['pending', 'decided']);
export type ApprovalStatus = z.infer<typeof ApprovalStatus>;

export const ApprovalRecord = z.object({
  approvalId: z.string(),
  request: ApprovalRequest,
  status: ApprovalStatus,
  receivedAt: Timestamp,
  /** When the current stage times out (the first deadline, or the escalation's); absent = never. */
  deadlineAt: Timestamp.optional(),
  /** Set when the first deadline passed with `onTimeout: escalate`. */
  escalation: z.object({ to: z.string(), at: Timestamp }).optional(),
  decision: ApprovalDecision.optional(),
  /** False between a decision and its event being stored on the bus; the sweeper republishes. */
  published: z.boolean(),
  /** The request's notifications were sent (or given up on). A redelivered request re-sends them until then. */
  notified: z.boolean(),
  /** A process claimed the notifications at this time: others leave them to it unless the claim is stale. */
  notifyingSince: Timestamp.optional(),
  /** The trace the request arrived in: the decision event continues it. */
  traceparent: z.string().optional(),
});
export type ApprovalRecord = z.infer<typeof ApprovalRecord>;

/** A record is open while someone may still act on it or its decision is not yet on the bus. */
export function isOpen(r: ApprovalRecord): boolean {
  return r.status === 'pending' || !r.published;
}

/** The sweeper must act on a record: pending past its deadline, or decided and unpublished. */
export function isDue(r: ApprovalRecord, now: Date): boolean {
  if (r.status === 'decided') return !r.published;
  return r.deadlineAt !== undefined && Date.parse(r.deadlineAt) <= now.getTime();
}

export const AuditAction = z.enum(['requested', 'notified', 'notify_failed', 'approved', 'rejected', 'edited', 'escalated', 'repeated']);
export type AuditAction = z.infer<typeof AuditAction>;

/** One line of the append-only audit trail: who did what to an approval, when, and what changed. */
export const AuditEntry = z.object({
  approvalId: z.string(),
  /** Unique within the approval; deterministic for what happens once (`decided`), so a retry stores it once. */
  entryId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  at: Timestamp,
  /** A token's name, `slack:<user>`, `timeout` or `approver`. */
  actor: z.string(),
  channel: z.union([ApprovalChannel, z.literal('system')]),
  action: AuditAction,
  reason: z.string().optional(),
  /** For an edit: the proposed arguments and the ones that replaced them. */
  before: z.unknown().optional(),
  after: z.unknown().optional(),
  detail: z.string().optional(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

export interface Versioned<T> {
  readonly value: T;
  /** Opaque monotonic version; pass it back to `update`. */
  readonly version: number;
}

export type WriteResult = { ok: true; version: number } | { ok: false; reason: 'conflict' };

export interface ApprovalFilter {
  status?: ApprovalStatus;
  /** Most records returned, newest request first. @default 100 */
  limit?: number;
}

export interface ApprovalStore {
  /** First write wins: `exists` when an approval with this id is stored (which is kept). */
  create(record: ApprovalRecord): Promise<'created' | 'exists'>;
  get(approvalId: string): Promise<Versioned<ApprovalRecord> | undefined>;
  /** Replaces the record if its version is still `expectedVersion`; `conflict` otherwise. */
  update(record: ApprovalRecord, expectedVersion: number): Promise<WriteResult>;
  list(filter?: ApprovalFilter): Promise<ApprovalRecord[]>;
  /** Records the sweeper must act on at `now`: pending past their deadline, or decided and unpublished. */
  due(now: Date, limit: number): Promise<Versioned<ApprovalRecord>[]>;
}

export interface AuditStore {
  /** Idempotent per (approvalId, entryId). */
  append(entry: AuditEntry): Promise<void>;
  /** The approval's entries, oldest first. */
  list(approvalId: string): Promise<AuditEntry[]>;
}

export interface ApproverStores {
  readonly kind: 'kv' | 'mongo';
  readonly approvals: ApprovalStore;
  readonly audit: AuditStore;
  close(): Promise<void>;
}

/** Audit entries in the order they happened (ties broken by id, so the order is stable). */
export function byTime(a: AuditEntry, b: AuditEntry): number {
  return a.at < b.at ? -1 : a.at > b.at ? 1 : a.entryId < b.entryId ? -1 : a.entryId > b.entryId ? 1 : 0;
}
