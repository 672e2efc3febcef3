import type { ClaimRef, RunState, RunStatus } from '@pipewright/contracts';

/**
 * The checkpoint stores. Every implementation (NATS KV, MongoDB) passes one conformance suite.
 * Updates are compare-and-set on a version: no multi-document transactions anywhere.
 *
 * Step results are not here: each task's result is appended to its log on the bus (PW_EVENTS), and that
 * message is its checkpoint (see `TaskLog`); the decision trail travels on the planner's events.
 */

export interface Versioned<T> {
  readonly value: T;
  /** Opaque monotonic version; pass it back to `update`. */
  readonly version: number;
}

export type WriteResult = { ok: true; version: number } | { ok: false; reason: 'conflict' | 'exists' };

export interface RunSummary {
  runId: string;
  status: RunStatus;
  pipeline: string;
  tenant: string;
  createdAt: string;
  updatedAt: string;
}

export interface RunFilter {
  status?: RunStatus;
  pipeline?: string;
  /** Most runs returned, newest first. @default 100 */
  limit?: number;
}

/** A write may bring the state's JSON when the caller already made it (to check its size, say): it is stored as given. */
export interface WriteOptions {
  json?: string;
}

export interface RunStore {
  /** Creates the run; `exists` when a run with this id is already stored. */
  create(state: RunState, opts?: WriteOptions): Promise<WriteResult>;
  get(runId: string): Promise<Versioned<RunState> | undefined>;
  /** Replaces the run if its version is still `expectedVersion`; `conflict` otherwise. */
  update(state: RunState, expectedVersion: number, opts?: WriteOptions): Promise<WriteResult>;
  list(filter?: RunFilter): Promise<RunSummary[]>;
  delete(runId: string): Promise<void>;
  /**
   * Ids of runs in a terminal status whose `finishedAt` is before `before`, oldest first, at most
   * `limit`: what retention removes.
   */
  listFinishedBefore(before: Date, limit: number): Promise<string[]>;
}

/**
 * Claim check: values too large for a message, stored once per run and content-addressed (the key is
 * the SHA-256 of the bytes), so writing the same bytes twice is harmless.
 */
export interface BlobStore {
  /** Stores `data` for `runId` (idempotent) and returns the reference a message carries instead. */
  put(runId: string, data: Uint8Array, contentType?: string): Promise<ClaimRef>;
  /** The bytes of `ref`; undefined when they are gone (retention). Throws when they fail the digest. */
  get(ref: ClaimRef): Promise<Uint8Array | undefined>;
  /** Removes every blob of the run; returns how many. */
  deleteRun(runId: string): Promise<number>;
}

/**
 * `default`: the servers' own flush behaviour and MongoDB w:majority. `strict`: nothing counts as
 * written until it is on disk (MongoDB journaled w:majority; nats-server `sync_interval: always`).
 */
export type DurabilityProfile = 'default' | 'strict';

/**
 * How finished runs leave the store: `ttl` when the server expires them itself (MongoDB TTL indexes),
 * `sweep` when a service must run the retention sweeper (NATS KV, FerretDB).
 */
export type RetentionMode = 'ttl' | 'sweep';

export interface Stores {
  readonly kind: 'kv' | 'mongo';
  readonly runs: RunStore;
  readonly blobs: BlobStore;
  /** The profile the store was opened with (for KV, the server's setting decides; this records it). */
  readonly durability: DurabilityProfile;
  readonly retention: RetentionMode;
  close(): Promise<void>;
}
