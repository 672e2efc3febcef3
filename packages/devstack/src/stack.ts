// A LIFO of cleanups: start things in order, stop them in reverse, and never leave one running
// because an earlier cleanup threw or hung.
import { WaitTimeoutError } from './errors.js';

/** How long one cleanup may take before stopAll gives up on it and moves on. */
export const DEFAULT_STOP_ITEM_TIMEOUT_MS = 30_000;

export interface StackOptions {
  /** The longest one cleanup may take in stopAll. @default 30_000 */
  itemTimeoutMs?: number;
}

export class Stack {
  private readonly items: { name: string; stop: () => Promise<void> }[] = [];
  private readonly itemTimeoutMs: number;

  constructor(opts: StackOptions = {}) {
    this.itemTimeoutMs = opts.itemTimeoutMs ?? DEFAULT_STOP_ITEM_TIMEOUT_MS;
  }

  /** Registers a cleanup; stopAll runs the last one added first. */
  add(name: string, stop: () => Promise<void>): void {
    this.items.push({ name, stop });
  }

  /** How many cleanups are registered. */
  get size(): number {
    return this.items.length;
  }

  /**
   * Runs every cleanup, last added first, each bounded by `itemTimeoutMs`, and empties the stack.
   * Only after all of them ran does it throw: an AggregateError of the ones that failed or hung.
   */
  async stopAll(): Promise<void> {
    const items = this.items.splice(0).reverse();
    const errors: Error[] = [];
    for (const item of items) {
      try {
        await this.runBounded(item.name, item.stop);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        errors.push(new Error(`stopping ${item.name} failed: ${message}`, { cause: err }));
      }
    }
    if (errors.length > 0) {
      throw new AggregateError(errors, `${errors.length} of ${items.length} cleanups failed:\n${errors.map((e) => `  ${e.message}`).join('\n')}`);
    }
  }

  private runBounded(name: string, stop: () => Promise<void>): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new WaitTimeoutError(`${name} to stop`, this.itemTimeoutMs)), this.itemTimeoutMs);
      Promise.resolve()
        .then(stop)
        .then(
          () => {
            clearTimeout(timer);
            resolve();
          },
          (err: Error) => {
            clearTimeout(timer);
            reject(err);
          },
        );
    });
  }
}
