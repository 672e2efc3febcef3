/**
 * Where the budget ledger lives. Documents are opaque JSON text with a version; every change is a
 * compare-and-set on that version (NATS KV revision, MongoDB version field), which is the only atomic
 * primitive the ledger needs: no transactions, no multi-document updates. Both implementations pass one
 * conformance suite (services/budget/test/store.int.test.ts).
 */

export interface StoredDoc {
  readonly text: string;
  /** Opaque, increases with every write; pass it back to `update`. */
  readonly version: number;
}

export type CasResult = { ok: true; version: number } | { ok: false; reason: 'exists' | 'conflict' };

export interface LedgerStore {
  readonly kind: 'kv' | 'mongo';
  /** A writer must re-read a document it cached longer ago than this; undefined: a cached version may be kept. */
  readonly maxCacheAgeMs?: number;
  get(key: string): Promise<StoredDoc | undefined>;
  /** Creates the document; `exists` when one is already stored under `key`. */
  create(key: string, text: string): Promise<CasResult>;
  /** Replaces the document if its version is still `expectedVersion`; `conflict` otherwise. */
  update(key: string, text: string, expectedVersion: number): Promise<CasResult>;
  /** Notes that a run has reservations the sweeper must look at (idempotent). */
  markOpen(runId: string): Promise<void>;
  clearOpen(runId: string): Promise<void>;
  /** Runs marked open, at most `limit` of them. */
  openRuns(limit: number): Promise<string[]>;
  /** Housekeeping the sweeper runs where the server cannot do it itself; returns what it removed. */
  prune?(now: number): Promise<number>;
  close(): Promise<void>;
}

/** Document keys: one ledger per run, per pipeline and per tenant. Ids are validated before they get here. */
export const ledgerKeys = {
  run: (runId: string) => `run.${runId}`,
  pipeline: (name: string) => `pipeline.${name}`,
  tenant: (tenant: string) => `tenant.${tenant}`,
} as const;
