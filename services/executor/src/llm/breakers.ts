import CircuitBreaker from 'opossum';
import type { ModelTarget } from '@pipewright/contracts';
import type { CallOutcome } from './call.js';
import type { CallFailure } from './errors.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

/** How a breaker judges its (endpoint, model); from PW_BREAKER_* in the executor's config. */
export interface BreakerOptions {
  /** Opens when more than this percentage of the window's calls failed. */
  errorThresholdPct: number;
  /** Calls in the window before it may open at all. */
  volumeThreshold: number;
  /** Time an open breaker refuses calls before one probe call is let through. */
  resetTimeoutMs: number;
  /** Rolling window of the error percentage. */
  windowMs: number;
}

export const DEFAULT_BREAKER_OPTIONS: BreakerOptions = Object.freeze({ errorThresholdPct: 50, volumeThreshold: 10, resetTimeoutMs: 30_000, windowMs: 10_000 });

const WINDOW_BUCKETS = 10;

export interface BreakerChange {
  provider: string;
  model: string;
  endpoint: string;
  state: BreakerState;
}

/** What a guarded call came to: the call's own outcome, or a refusal by an open breaker (no call made). */
export type GuardedOutcome = CallOutcome | { ok: false; rejected: true };

/** Carries a failed call through opossum, which only counts rejections. */
class FailedCall extends Error {
  constructor(readonly failure: CallFailure) {
    super(failure.message);
  }
}

/**
 * The breaker of one (endpoint, model). Only provider faults count against it: timeouts, connection
 * errors and 5xx. Every other outcome (4xx, a 429 rate limit, an abort) passes opossum's errorFilter,
 * which counts it as a success — the provider answered, so it is up. Output validation happens after
 * the breaker and never reaches it.
 */
export class ModelBreaker {
  private readonly cb: CircuitBreaker<[() => Promise<CallOutcome>], CallOutcome>;
  private openedAtMs = 0;

  constructor(
    readonly target: ModelTarget,
    readonly endpoint: string,
    private readonly opts: BreakerOptions,
    onChange: (change: BreakerChange) => void,
  ) {
    this.cb = new CircuitBreaker(
      async (fn: () => Promise<CallOutcome>) => {
        const out = await fn();
        if (!out.ok) throw new FailedCall(out.failure);
        return out;
      },
      {
        name: `${target.provider}/${target.model}`,
        // Every call has its own AbortSignal timeout; a second timer here would race it.
        timeout: false,
        errorThresholdPercentage: opts.errorThresholdPct,
        volumeThreshold: opts.volumeThreshold,
        resetTimeout: opts.resetTimeoutMs,
        rollingCountTimeout: opts.windowMs,
        rollingCountBuckets: WINDOW_BUCKETS,
        // Percentiles sort every latency on each failure; snapshots add a timer. Neither is used.
        rollingPercentilesEnabled: false,
        enableSnapshots: false,
        errorFilter: (err: unknown) => !(err instanceof FailedCall && err.failure.providerFault),
      },
    );
    const emit = (state: BreakerState) => onChange({ provider: target.provider, model: target.model, endpoint, state });
    this.cb.on('open', () => {
      this.openedAtMs = Date.now();
      emit('open');
    });
    this.cb.on('halfOpen', () => emit('half-open'));
    this.cb.on('close', () => emit('closed'));
  }

  state(): BreakerState {
    if (this.cb.closed) return 'closed';
    return this.cb.halfOpen ? 'half-open' : 'open';
  }

  /** Whether a call now would be refused: open, or half-open with its one probe already out. */
  refusing(): boolean {
    return !this.cb.closed && !this.cb.pendingClose;
  }

  /** Time until an open breaker lets a probe through (0 when it is not open). */
  reopensInMs(now = Date.now()): number {
    return this.cb.opened ? Math.max(0, this.openedAtMs + this.opts.resetTimeoutMs - now) : 0;
  }

  get resetTimeoutMs(): number {
    return this.opts.resetTimeoutMs;
  }

  /** Runs one call through the breaker. Never throws for a failed call. */
  async run(fn: () => Promise<CallOutcome>): Promise<GuardedOutcome> {
    try {
      return await this.cb.fire(fn);
    } catch (err) {
      if (err instanceof FailedCall) return { ok: false, failure: err.failure };
      if ((err as { code?: unknown }).code === 'EOPENBREAKER') return { ok: false, rejected: true };
      throw err;
    }
  }

  shutdown(): void {
    this.cb.shutdown();
  }
}

/** One breaker per (endpoint, model) in this process, made on first use. */
export class BreakerRegistry {
  private readonly breakers = new Map<string, ModelBreaker>();

  constructor(
    private readonly opts: BreakerOptions,
    private readonly onChange: (change: BreakerChange) => void = () => undefined,
    /** Told of each breaker when it is made (closed), so that its state is on /metrics before it first changes. */
    private readonly onCreate: (target: ModelTarget) => void = () => undefined,
  ) {}

  get(target: ModelTarget, endpoint: string): ModelBreaker {
    const key = `${endpoint}\u0000${target.model}`;
    let b = this.breakers.get(key);
    if (!b) {
      b = new ModelBreaker(target, endpoint, this.opts, this.onChange);
      this.breakers.set(key, b);
      this.onCreate(target);
    }
    return b;
  }

  /** Stops every breaker's timers (tests, shutdown). */
  shutdown(): void {
    for (const b of this.breakers.values()) b.shutdown();
    this.breakers.clear();
  }
}
