/**
 * Bounds the handlers of one tool process. Core NATS cannot hand a message to another replica once it
 * was delivered here, so calls over the limit wait in a bounded queue; when that is full too, the call
 * is answered `busy` at once (retryable) rather than left to time out.
 */
export class Limiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    /** Handlers running at once. */
    readonly concurrency: number,
    /** Calls waiting for a slot, at most. */
    readonly maxWaiting: number,
  ) {}

  get inFlight(): number {
    return this.running;
  }

  /**
   * Resolves true with a slot (to be given back with `release`), or false when the queue is full or
   * `signal` aborts first.
   */
  async acquire(signal?: AbortSignal): Promise<boolean> {
    if (this.running < this.concurrency) {
      this.running++;
      return true;
    }
    if (this.waiting.length >= this.maxWaiting || signal?.aborted === true) return false;
    return new Promise<boolean>((resolve) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        this.running++;
        resolve(true);
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) this.waiting.splice(i, 1);
        resolve(false);
      };
      this.waiting.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  release(): void {
    this.running--;
    this.waiting.shift()?.();
  }
}
