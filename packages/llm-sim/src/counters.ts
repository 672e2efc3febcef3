// Call accounting. Chaos and idempotency tests assert on these: "the model was called exactly once
// per step", "attempt numbers were 1, 2, 3", "half the calls to sim-large were 503s".

/** A snapshot of what the simulator has seen on POST /v1/chat/completions since the last reset. */
export interface SimCounters {
  /** Every chat-completions request, including faulted and rejected ones. */
  totalCalls: number;
  /**
   * Per `Idempotency-Key` header value: number of calls, and the `X-Pw-Call-Attempt` header values
   * (as numbers) in arrival order. Calls without the key are not listed here.
   */
  byKey: Record<string, KeyCounters>;
  /** Calls per requested model (requests without a readable model are not listed). */
  byModel: Record<string, number>;
  /**
   * Calls per outcome: 'ok' | '429' | '500' | '503' | 'drop' | 'hang' | 'malformed' |
   * 'schema-break', plus '400' / '404' for rejected requests.
   */
  byOutcome: Record<string, number>;
}

/** What the simulator saw of one Idempotency-Key. */
export interface KeyCounters {
  calls: number;
  /** `X-Pw-Call-Attempt` of each call, in arrival order. */
  attempts: number[];
  /** When each call arrived (ms since the epoch), in arrival order: tests compare them with run events. */
  arrivals: number[];
  /** Tokens of the answers sent in full (what a provider would bill), summed over the key's calls. */
  billed: { inputTokens: number; outputTokens: number; answers: number };
}

/** One observed call. */
export interface CallRecord {
  key: string | undefined;
  attempt: number | undefined;
  model: string | undefined;
  outcome: string;
}

export class CounterSet {
  private totalCalls = 0;
  private byKey = new Map<string, KeyCounters>();
  private byModel = new Map<string, number>();
  private byOutcome = new Map<string, number>();

  record(call: CallRecord): void {
    this.totalCalls += 1;
    if (call.key !== undefined) {
      const entry = this.byKey.get(call.key) ?? { calls: 0, attempts: [], arrivals: [], billed: { inputTokens: 0, outputTokens: 0, answers: 0 } };
      entry.calls += 1;
      entry.arrivals.push(Date.now());
      if (call.attempt !== undefined) entry.attempts.push(call.attempt);
      this.byKey.set(call.key, entry);
    }
    if (call.model !== undefined) this.byModel.set(call.model, (this.byModel.get(call.model) ?? 0) + 1);
    this.byOutcome.set(call.outcome, (this.byOutcome.get(call.outcome) ?? 0) + 1);
  }

  /** Records the usage of an answer sent in full for `key` (the client received it: it is billed). */
  bill(key: string | undefined, inputTokens: number, outputTokens: number): void {
    const entry = key === undefined ? undefined : this.byKey.get(key);
    if (!entry) return;
    entry.billed.inputTokens += inputTokens;
    entry.billed.outputTokens += outputTokens;
    entry.billed.answers += 1;
  }

  /** A deep copy: later calls do not change a snapshot already handed out. */
  snapshot(): SimCounters {
    const byKey: SimCounters['byKey'] = {};
    for (const [k, v] of this.byKey) byKey[k] = { calls: v.calls, attempts: [...v.attempts], arrivals: [...v.arrivals], billed: { ...v.billed } };
    return {
      totalCalls: this.totalCalls,
      byKey,
      byModel: Object.fromEntries(this.byModel),
      byOutcome: Object.fromEntries(this.byOutcome),
    };
  }

  reset(): void {
    this.totalCalls = 0;
    this.byKey = new Map();
    this.byModel = new Map();
    this.byOutcome = new Map();
  }
}
