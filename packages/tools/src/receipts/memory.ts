import type { ToolReply } from '@pipewright/contracts';
import { BUSY_RETRY_AFTER_MAX_MS, type Claim, type ClaimToken, type ReceiptRecord, type ReceiptStore } from './types.js';

/** Receipts kept at most, by default; the oldest are forgotten first. */
export const DEFAULT_MEMORY_RECEIPTS = 10_000;

/**
 * Receipts in this process's memory: effects once for a tool with a single replica that does not
 * restart. Tools with several replicas, or that must survive a restart, use `kvReceipts`.
 */
export function memoryReceipts(opts: { maxEntries?: number } = {}): ReceiptStore {
  const max = opts.maxEntries ?? DEFAULT_MEMORY_RECEIPTS;
  // A Map iterates in insertion order, so the first key is the oldest.
  const entries = new Map<string, { record: ReceiptRecord; revision: number }>();
  let revisions = 0;
  const id = (tool: string, key: string) => `${tool}\u0000${key}`;
  const write = (k: string, record: ReceiptRecord): number => {
    entries.delete(k);
    entries.set(k, { record, revision: ++revisions });
    while (entries.size > max) {
      const oldest = entries.keys().next();
      if (oldest.done === true) break;
      entries.delete(oldest.value);
    }
    return revisions;
  };

  return {
    claim(tool, key, leaseMs): Promise<Claim> {
      const k = id(tool, key);
      const now = Date.now();
      const e = entries.get(k);
      if (e?.record.state === 'done') return Promise.resolve({ kind: 'done', reply: e.record.reply });
      if (e?.record.state === 'pending' && e.record.leaseUntil > now)
        return Promise.resolve({ kind: 'busy', retryAfterMs: Math.min(BUSY_RETRY_AFTER_MAX_MS, e.record.leaseUntil - now) });
      const revision = write(k, { state: 'pending', leaseUntil: now + leaseMs });
      return Promise.resolve({ kind: 'claimed', token: { tool, key, revision } });
    },
    complete(token: ClaimToken, reply: ToolReply) {
      const k = id(token.tool, token.key);
      // A claim taken over after its lease belongs to the new holder now.
      if (entries.get(k)?.revision === token.revision) write(k, { state: 'done', reply, completedAt: new Date().toISOString() });
      return Promise.resolve();
    },
    release(token: ClaimToken) {
      const k = id(token.tool, token.key);
      if (entries.get(k)?.revision === token.revision) entries.delete(k);
      return Promise.resolve();
    },
  };
}
