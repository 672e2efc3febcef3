import { LRUCache } from 'lru-cache';

/** A bounded set: remembers the most recent `capacity` keys. */
export class LruSet {
  private readonly keys: LRUCache<string, true>;

  constructor(capacity: number) {
    this.keys = new LRUCache({ max: capacity });
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  add(key: string): void {
    this.keys.set(key, true);
  }
}
