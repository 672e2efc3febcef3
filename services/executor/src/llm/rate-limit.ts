/**
 * Client-side flow control per provider: token buckets for requests per minute and tokens per minute.
 * A caller reserves capacity and is told how long to wait for it (reservations may drive a bucket
 * below zero, so waiting callers are served in arrival order without a queue). Usage known only after
 * the call is settled against the estimate, so the next callers pay for an underestimate.
 */

const MINUTE_MS = 60_000;

export class TokenBucket {
  private level: number;
  private updatedAt: number;
  private readonly perMs: number;

  constructor(
    /** Capacity and refill per minute. */
    readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {
    this.level = perMinute;
    this.updatedAt = now();
    this.perMs = perMinute / MINUTE_MS;
  }

  private refill(): void {
    const t = this.now();
    this.level = Math.min(this.perMinute, this.level + (t - this.updatedAt) * this.perMs);
    this.updatedAt = t;
  }

  /** Milliseconds until `amount` is available, without taking it. */
  waitFor(amount: number): number {
    this.refill();
    const need = Math.min(amount, this.perMinute) - this.level;
    return need <= 0 ? 0 : Math.ceil(need / this.perMs);
  }

  /** Takes `amount` (capped at the capacity, so one large call cannot wait forever). */
  take(amount: number): void {
    this.refill();
    this.level -= Math.min(amount, this.perMinute);
  }

  /** Corrects an earlier take: positive takes more, negative gives back. */
  adjust(delta: number): void {
    this.refill();
    this.level = Math.min(this.perMinute, this.level - delta);
  }
}

/** What the limiter decided for one call. */
export type Admission =
  | { kind: 'admitted'; waitMs: number }
  /** Capacity would come later than the caller may wait: no capacity was taken. */
  | { kind: 'too-late'; waitMs: number };

export interface LimitSpec {
  rpm?: number | undefined;
  tpm?: number | undefined;
}

export class ProviderLimiter {
  private readonly requests: TokenBucket | undefined;
  private readonly tokens: TokenBucket | undefined;

  constructor(spec: LimitSpec, now: () => number = Date.now) {
    this.requests = spec.rpm !== undefined ? new TokenBucket(spec.rpm, now) : undefined;
    this.tokens = spec.tpm !== undefined ? new TokenBucket(spec.tpm, now) : undefined;
  }

  get limited(): boolean {
    return this.requests !== undefined || this.tokens !== undefined;
  }

  /**
   * Reserves one request and `estimatedTokens` if both are available within `maxWaitMs`. The caller
   * sleeps `waitMs` before calling (a reservation is a promise of capacity at that time).
   */
  reserve(estimatedTokens: number, maxWaitMs: number): Admission {
    if (!this.limited) return { kind: 'admitted', waitMs: 0 };
    const waitMs = Math.max(this.requests?.waitFor(1) ?? 0, this.tokens?.waitFor(estimatedTokens) ?? 0);
    if (waitMs > maxWaitMs) return { kind: 'too-late', waitMs };
    this.requests?.take(1);
    this.tokens?.take(estimatedTokens);
    return { kind: 'admitted', waitMs };
  }

  /** Gives a reservation back when its call was never sent (the breaker opened meanwhile). */
  release(estimatedTokens: number): void {
    this.requests?.adjust(-1);
    this.tokens?.adjust(-estimatedTokens);
  }

  /** After the call: the tokens it really used, against the estimate reserved. */
  settle(estimatedTokens: number, actualTokens: number): void {
    this.tokens?.adjust(actualTokens - estimatedTokens);
  }
}

/** Rough prompt size for flow control: 4 characters a token. Budget uses a real tokenizer. */
export function estimateTokens(messages: readonly { content: string }[], maxOutputTokens: number | undefined): number {
  let chars = 0;
  for (const m of messages) chars += m.content.length;
  return Math.ceil(chars / 4) + messages.length * 4 + (maxOutputTokens ?? 0);
}
