import { msgIds, type ClaimRef, type Decision, type RunState, type RunStatus, type StepCompleted } from '@pipewright/contracts';
import type { ToolCallStore } from './tool-calls.js';

/**
 * The checkpoint stores. Every implementation (NATS KV, MongoDB) passes one conformance suite.
 * Updates are compare-and-set on a version: no multi-document transactions anywhere.
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

export interface RunStore {
  /** Creates the run; `exists` when a run with this id is already stored. */
  create(state: RunState): Promise<WriteResult>;
  get(runId: string): Promise<Versioned<RunState> | undefined>;
  /** Replaces the run if its version is still `expectedVersion`; `conflict` otherwise. */
  update(state: RunState, expectedVersion: number): Promise<WriteResult>;
  list(filter?: RunFilter): Promise<RunSummary[]>;
  delete(runId: string): Promise<void>;
  /**
   * Ids of runs in a terminal status whose `finishedAt` is before `before`, oldest first, at most
   * `limit`: what retention removes.
   */
  listFinishedBefore(before: Date, limit: number): Promise<string[]>;
}

/** A step's completion as the executor checkpointed it: the result it published. */
export type StepCheckpoint = StepCompleted;

/**
 * The key of a checkpoint within its run: the step id, or `<stepId>=t<turn>` for one model turn of an
 * agent step (each turn is checkpointed on its own, so a redelivered turn is never sent again).
 */
export function checkpointPart(stepId: string, turn?: number): string {
  return msgIds.task(stepId, turn);
}

/** The key part of a checkpoint as stored. */
export const partOf = (cp: StepCheckpoint): string => checkpointPart(cp.stepId, cp.task === 'agent-turn' ? cp.turn : undefined);

export interface StepStore {
  /** The completion of a step, or of turn `turn` of an agent step. */
  get(runId: string, stepId: string, turn?: number): Promise<StepCheckpoint | undefined>;
  /** First write wins: `exists` when the step already has a completion (which is kept). */
  put(checkpoint: StepCheckpoint): Promise<'created' | 'exists'>;
  deleteRun(runId: string): Promise<void>;
}

export interface DecisionStore {
  /** Idempotent per (runId, seq): writing the same decision twice stores it once. */
  append(decisions: readonly Decision[]): Promise<void>;
  /** The run's decisions in `seq` order. */
  list(runId: string): Promise<Decision[]>;
  deleteRun(runId: string): Promise<void>;
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
  readonly steps: StepStore;
  readonly decisions: DecisionStore;
  /** Intents and receipts of the executor's tool calls (effects once; see tool-calls.ts). */
  readonly toolCalls: ToolCallStore;
  readonly blobs: BlobStore;
  /** The profile the store was opened with (for KV, the server's setting decides; this records it). */
  readonly durability: DurabilityProfile;
  readonly retention: RetentionMode;
  close(): Promise<void>;
}
