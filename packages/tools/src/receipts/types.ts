import type { ToolReply } from '@pipewright/contracts';

/**
 * Receipts make "effects once" work for tools: before a handler runs, its call's idempotency key is
 * claimed; when it ends, the reply is stored under that key. A repeated call (a redelivered command, a
 * retry after a lost reply) finds the receipt and gets the stored reply instead of running again.
 */

/** Proof of a claim, handed back to complete or release it. */
export interface ClaimToken {
  readonly tool: string;
  readonly key: string;
  /** Store-specific version of the claim (KV revision), for compare-and-set. */
  readonly revision: number;
}

export type Claim =
  /** Nobody ran this call yet (or a previous run's lease expired): run it, then complete or release. */
  | { kind: 'claimed'; token: ClaimToken }
  /** The call already ended: this is its reply. */
  | { kind: 'done'; reply: ToolReply }
  /** Another run of the same call holds the claim; try again later. */
  | { kind: 'busy'; retryAfterMs: number };

export interface ReceiptStore {
  /**
   * Claims `key` for `leaseMs`. A claim older than its lease is taken over: its holder is presumed dead
   * (a handler that outlives the lease can therefore run twice; handlers honour their abort signal).
   * Throws when the store cannot be reached; the caller then refuses to run the effect.
   */
  claim(tool: string, key: string, leaseMs: number): Promise<Claim>;
  /** Stores the final reply of a claimed call. */
  complete(token: ClaimToken, reply: ToolReply): Promise<void>;
  /** Gives a claim up (the call failed in a way a retry may fix), so the next call runs again. */
  release(token: ClaimToken): Promise<void>;
}

/** The stored form of one receipt. */
export type ReceiptRecord =
  | { state: 'pending'; leaseUntil: number }
  | { state: 'done'; reply: ToolReply; completedAt: string };

/** How long to tell a caller to wait when a claim is held, at most. */
export const BUSY_RETRY_AFTER_MAX_MS = 1_000;
