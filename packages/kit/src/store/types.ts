import type { Decision, RunState, RunStatus, StepCompleted } from '@pipewright/contracts';

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
}

/** A step's completion as the executor checkpointed it: the result it published. */
export type StepCheckpoint = StepCompleted;

export interface StepStore {
  get(runId: string, stepId: string): Promise<StepCheckpoint | undefined>;
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

export interface Stores {
  readonly kind: 'kv' | 'mongo';
  readonly runs: RunStore;
  readonly steps: StepStore;
  readonly decisions: DecisionStore;
  close(): Promise<void>;
}
