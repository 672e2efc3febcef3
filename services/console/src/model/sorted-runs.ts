/** What the sorted lists hold: a run's place in time, fixed for the run's life. */
export interface Keyed {
  readonly runId: string;
  readonly createdAtMs: number;
}

/** Orders runs by creation time, then run id (both fixed for a run, so a run's place never moves). */
export function compareKeys(a: Keyed, b: Keyed): number {
  return a.createdAtMs - b.createdAtMs || (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0);
}

/**
 * Runs sorted oldest first (by `compareKeys`). New runs are the newest almost always, so an insert is
 * a push; lists are read from the end (newest first). One list per index: every run, each status,
 * each label, each pipeline, each tenant.
 */
export class SortedRuns<T extends Keyed> {
  private items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  at(i: number): T | undefined {
    return this.items[i];
  }

  insert(e: T): void {
    const last = this.items[this.items.length - 1];
    if (last === undefined || compareKeys(last, e) < 0) {
      this.items.push(e);
      return;
    }
    const i = this.lowerBound(e);
    if (this.items[i] !== e) this.items.splice(i, 0, e);
  }

  remove(e: T): void {
    const i = this.lowerBound(e);
    if (this.items[i] === e) this.items.splice(i, 1);
  }

  /** Removes many at once in one pass (eviction, retention): splicing each would be quadratic. */
  removeAll(gone: ReadonlySet<T>): void {
    if (gone.size > 0) this.items = this.items.filter((x) => !gone.has(x));
  }

  /** The first index whose run is not before `key`. */
  lowerBound(key: Keyed): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(this.items[mid]!, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
