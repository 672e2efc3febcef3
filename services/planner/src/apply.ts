import { trace } from '@opentelemetry/api';
import { TERMINAL_STATUSES, type ParentRef, type RunState } from '@pipewright/contracts';
import { RetryableError, type Logger, type Stores } from '@pipewright/kit';
import { ClaimTable } from './claims.js';
import type { ResultReader } from './result-refs.js';
import { awaitsChild } from './core/child.js';
import { decide, type Transition } from './core/decide.js';
import type { PlannerEvent } from './core/events.js';
import { overflow } from './core/overflow.js';
import { recordTransition, type PlannerMetrics } from './metrics.js';
import type { Outbox } from './outbox.js';
import { recordEnded } from './run-spans.js';
import { WrittenCache } from './written-cache.js';

/** Concurrent writers of one run retry this many times before handing the event back to the stream. */
const MAX_CAS_ATTEMPTS = 16;

export type ApplyResult = { kind: 'applied'; state: RunState } | { kind: 'replayed' } | Extract<Transition, { kind: 'unchanged' }>;

export interface ApplierOptions {
  /** The largest run state stored (bytes of JSON); a transition past it ends the run instead. */
  maxStateBytes: number;
}

/**
 * Applies events to runs: load → (the event was applied already: republish its outbox entry) → decide
 * → compare-and-set → publish. Any number of planner replicas may run this at once; a lost race
 * reloads and decides again. Each event is named by where it came from (`<stream>:<seq>`), which is
 * what the outbox entry of its transition records.
 */
export class RunApplier {
  /** The last state this process wrote for each recent run: the next event of the run skips a read. */
  private readonly written = new WrittenCache();
  /** Claim-checked values: resolved for deciding, referenced in what is stored. */
  private readonly claims: ClaimTable;
  /** The last event being applied for each run with one in hand (see apply). */
  private readonly lanes = new Map<string, Promise<void>>();

  constructor(
    private readonly stores: Stores,
    private readonly outbox: Outbox,
    private readonly log: Logger,
    private readonly opts: ApplierOptions,
    results: ResultReader,
    private readonly metrics?: PlannerMetrics,
  ) {
    this.claims = new ClaimTable(stores.blobs, results);
  }

  /**
   * `eventKey` names where the event is stored (`<stream>:<seq>`): the outbox entry records it, and a
   * step output is kept in the run as a reference to its result at that sequence.
   */
  async apply(runId: string, event: PlannerEvent, eventKey: string, eventSeq?: number): Promise<ApplyResult> {
    // One at a time per run in this process: events of one run handled side by side (a map's items
    // finishing together) would only lose compare-and-set races to each other, each loser reading and
    // deciding again. Other replicas still race, and compare-and-set still decides.
    const prev = this.lanes.get(runId);
    const run = prev ? prev.then(() => this.applyNow(runId, event, eventKey, eventSeq)) : this.applyNow(runId, event, eventKey, eventSeq);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.lanes.set(runId, tail);
    try {
      return await run;
    } finally {
      if (this.lanes.get(runId) === tail) this.lanes.delete(runId);
    }
  }

  private async applyNow(runId: string, event: PlannerEvent, eventKey: string, eventSeq?: number): Promise<ApplyResult> {
    for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
      // First try: what this process last wrote (compare-and-set catches it being stale). After a lost
      // race, or for a redelivered event, which must see the stored truth, read the store.
      const cached = attempt === 1 ? this.written.get(runId) : undefined;
      const current = cached ? { value: cached.state, version: cached.version } : await this.stores.runs.get(runId);
      const done = this.outbox.answering(current?.value, eventKey);
      if (done) {
        // Applied before, by a planner that may have died before publishing: publish again (its ids
        // make a copy inside the dedupe window a no-op; executors check their task logs anyway).
        this.log.info({ runId, eventKey, writer: done.writer }, 'event delivered again after it was applied: republishing its outbox');
        await this.outbox.publish(current!.value, done, undefined, true);
        this.metrics?.outboxRepublished.inc();
        return { kind: 'replayed' };
      }
      const hydrated = await this.claims.hydrate(current?.value, event);
      const now = new Date();
      let t: Transition = decide(hydrated.state, hydrated.event, now);
      if (t.kind === 'unchanged') {
        if (cached) continue; // the cache may be behind: confirm against the store before ignoring the event
        return t;
      }
      const prevOutbox = current?.value.outbox ?? [];
      const e = hydrated.event;
      const source = e.type === 'step.completed' && eventSeq !== undefined && (e.task ?? 'llm') === 'llm' ? { stepId: e.stepId, seq: eventSeq, output: e.output } : undefined;
      const store = async (tr: Extract<Transition, { kind: 'changed' }>): Promise<RunState> => ({
        ...(await this.claims.dehydrate(tr.state, hydrated.refs, source)),
        outbox: await this.outbox.next(prevOutbox, runId, eventKey, now.toISOString(), tr.messages),
      });
      let stored = await store(t);
      let json = JSON.stringify(stored);
      let bytes = byteLength(json);
      if (bytes > this.opts.maxStateBytes && hydrated.state) {
        // The transition would store more than the run may: end the run, naming why, instead.
        this.log.error({ runId, bytes, limit: this.opts.maxStateBytes }, 'run state would exceed its limit: ending the run');
        const ended = overflow(hydrated.state, bytes, this.opts.maxStateBytes, now);
        if (ended.kind !== 'changed') return ended;
        t = ended;
        stored = await store(t);
        json = JSON.stringify(stored);
        bytes = byteLength(json);
      }
      const messages = t.messages;
      const w = current ? await this.stores.runs.update(stored, current.version, { json }) : await this.stores.runs.create(stored, { json });
      if (!w.ok) {
        this.written.delete(runId);
        this.metrics?.casConflicts.inc({ store: 'runs' });
        this.log.debug({ runId, attempt, reason: w.reason }, 'lost a compare-and-set race; deciding again');
        continue;
      }
      if (TERMINAL_STATUSES.has(stored.status) && !stored.settling) this.written.delete(runId);
      else this.written.set(runId, stored, w.version, bytes);
      if (this.metrics) recordTransition(this.metrics, current?.value, stored);
      const span = trace.getActiveSpan();
      for (const d of t.decisions) span?.addEvent(`decision ${d.action}`, { 'pw.decision.reason': d.reason, 'pw.decision.steps': d.stepIds.join(','), 'pw.decision.seq': d.seq });
      await this.outbox.publish(stored, stored.outbox.at(-1)!, messages, false);
      // Only here, after this process's compare-and-set: a replayed transition records nothing again.
      recordEnded(current?.value, stored);
      return { kind: 'applied', state: stored };
    }
    throw new RetryableError(`run ${runId}: ${MAX_CAS_ATTEMPTS} compare-and-set conflicts in a row`, 50);
  }

  /**
   * The run a re-run reuses outputs from, as stored, with its succeeded steps' outputs resolved (claim
   * references replaced by their values, which the re-run stores again under its own id); undefined when
   * there is no such run.
   */
  async rerunSource(runId: string): Promise<RunState | undefined> {
    const stored = await this.stores.runs.get(runId);
    return stored && this.claims.resolveOutputs(stored.value);
  }

  /**
   * Whether a run request naming `parent` may be admitted: the run exists already (a redelivery, decided
   * as any resubmission), or the parent's step waits for exactly this child request (see awaitsChild).
   */
  async childAdmissible(parent: ParentRef, runId: string, digest: string): Promise<boolean> {
    if (await this.stores.runs.get(runId)) return true;
    return awaitsChild((await this.stores.runs.get(parent.runId))?.value, parent, runId, digest);
  }

  /** Whether the run exists and still needs its timers: not finished, or finished and settling. */
  async isLive(runId: string): Promise<boolean> {
    const run = await this.stores.runs.get(runId);
    return run !== undefined && (!TERMINAL_STATUSES.has(run.value.status) || run.value.settling !== undefined);
  }
}

/** UTF-8 bytes of a JSON text, counted without encoding it (the store encodes it once). */
const byteLength = (json: string) => Buffer.byteLength(json, 'utf8');
