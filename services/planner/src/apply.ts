import type { JetStreamClient } from '@nats-io/jetstream';
import { context, trace } from '@opentelemetry/api';
import { headers, TERMINAL_STATUSES, type RunState } from '@pipewright/contracts';
import { contextFromTraceparent, publishJson, RetryableError, type Logger, type Stores } from '@pipewright/kit';
import { ClaimTable } from './claims.js';
import { decide } from './core/decide.js';
import type { PlannerEvent } from './core/events.js';
import { LruSet } from './lru.js';

/** Concurrent writers of one run retry this many times before handing the event back to the stream. */
const MAX_CAS_ATTEMPTS = 16;
/** Runs whose last written state is kept in memory. */
const WRITTEN_CACHE_SIZE = 10_000;

export type ApplyResult = { kind: 'applied'; state: RunState } | { kind: 'unchanged'; reason: string };

/**
 * Applies events to runs: load → republish a stale outbox → decide → compare-and-set → publish →
 * append decisions. Any number of planner replicas may run this at once; a lost race reloads and
 * decides again.
 */
export class RunApplier {
  /** Outboxes this process published, so it does not republish its own. */
  private readonly flushed = new LruSet(50_000);
  /**
   * The last state this process wrote for each recent run. Applying the next event to it skips a read;
   * compare-and-set keeps that safe: if another replica wrote since, the update loses and we reload.
   */
  private readonly written = new Map<string, { state: RunState; version: number }>();
  /** Claim-checked step outputs: resolved for deciding, referenced in what is stored and published. */
  private readonly claims: ClaimTable;

  constructor(
    private readonly stores: Stores,
    private readonly js: JetStreamClient,
    private readonly log: Logger,
  ) {
    this.claims = new ClaimTable(stores.blobs);
  }

  async apply(runId: string, event: PlannerEvent): Promise<ApplyResult> {
    for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
      // First try: what this process last wrote. After a lost race, or for a redelivered event (which
      // must see the stored truth to be recognised as a duplicate), read the store.
      const cached = attempt === 1 ? this.written.get(runId) : undefined;
      const current = cached ? { value: cached.state, version: cached.version } : await this.stores.runs.get(runId);
      if (current && !cached) await this.flushIfStale(current.value);
      const hydrated = await this.claims.hydrate(current?.value, event);
      const t = decide(hydrated.state, hydrated.event, new Date());
      if (t.kind === 'unchanged') {
        if (cached) continue; // the cache may be behind: confirm against the store before ignoring the event
        return t;
      }
      const next = this.claims.dehydrate(t.state, hydrated.refs);
      const written = current ? await this.stores.runs.update(next, current.version) : await this.stores.runs.create(next);
      if (!written.ok) {
        this.written.delete(runId);
        this.log.debug({ runId, attempt, reason: written.reason }, 'lost a compare-and-set race; deciding again');
        continue;
      }
      this.remember(runId, next, written.version);
      const span = trace.getActiveSpan();
      for (const d of t.decisions) span?.addEvent(`decision ${d.action}`, { 'pw.decision.reason': d.reason, 'pw.decision.steps': d.stepIds.join(','), 'pw.decision.seq': d.seq });
      await this.flush(next);
      return { kind: 'applied', state: next };
    }
    throw new RetryableError(`run ${runId}: ${MAX_CAS_ATTEMPTS} compare-and-set conflicts in a row`, 50);
  }

  /** Whether the run exists and has not finished (the store's view). */
  async isLive(runId: string): Promise<boolean> {
    const run = await this.stores.runs.get(runId);
    return run !== undefined && !TERMINAL_STATUSES.has(run.value.status);
  }

  private remember(runId: string, state: RunState, version: number): void {
    this.written.delete(runId);
    if (TERMINAL_STATUSES.has(state.status)) return;
    this.written.set(runId, { state, version });
    if (this.written.size > WRITTEN_CACHE_SIZE) {
      const oldest = this.written.keys().next().value;
      if (oldest !== undefined) this.written.delete(oldest);
    }
  }

  /** Republishes the outbox of a transition another process (or a crashed one) may not have published. */
  private async flushIfStale(state: RunState): Promise<void> {
    const ob = state.outbox;
    if (!ob || this.flushed.has(`${state.runId}:${ob.transition}`)) return;
    this.log.debug({ runId: state.runId, transition: ob.transition }, 'republishing an outbox this process did not publish');
    await context.with(contextFromTraceparent(state.traceparent), () => this.flush(state, true));
  }

  private async flush(state: RunState, replay = false): Promise<void> {
    const ob = state.outbox;
    if (!ob) return;
    // A replayed command may reach an executor after the dedupe window: mark it so the executor checks
    // its checkpoints before calling a model.
    const opts = replay ? { headers: { [headers.replay]: '1' } } : {};
    await Promise.all([
      ...ob.messages.map((m) => publishJson(this.js, m.subject, m.payload, { msgId: m.msgId, ...opts })),
      ob.decisions.length > 0 ? this.stores.decisions.append(ob.decisions) : Promise.resolve(),
    ]);
    this.flushed.add(`${state.runId}:${ob.transition}`);
  }
}
