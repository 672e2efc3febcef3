import type { RunState } from '@pipewright/contracts';
import { LRUCache } from 'lru-cache';

/** Memory kept for run states this process wrote last (least recently used out). */
const MAX_BYTES = 64 * 1024 * 1024;

/**
 * The last state this process wrote for each recent run, with its version. Applying the run's next
 * event to it skips a read; compare-and-set keeps that safe: if another replica wrote since, the update
 * loses and the applier reads the store.
 */
export class WrittenCache {
  private readonly cache = new LRUCache<string, { state: RunState; version: number; bytes: number }>({ maxSize: MAX_BYTES, sizeCalculation: (v) => Math.max(1, v.bytes) });

  get(runId: string): { state: RunState; version: number } | undefined {
    return this.cache.get(runId);
  }

  set(runId: string, state: RunState, version: number, bytes: number): void {
    this.cache.set(runId, { state, version, bytes });
  }

  delete(runId: string): void {
    this.cache.delete(runId);
  }
}
