import { DeliverPolicy, type ConsumerMessages, type JetStreamClient } from '@nats-io/jetstream';
import { fromZodError, parseJsonBounded, RunListQuery, type BatchStats, type Labels, type RunListPage, type RunSummary } from '@pipewright/contracts';
import { errorMessage, type Logger } from '@pipewright/kit';
import type { OpResult, RunsReadModel } from '../ports.js';
import { toSummary, type Entry } from './entry.js';
import { INDEX_STREAM, INDEX_SUBJECTS, IndexEvent } from './events.js';
import { toFilter } from './query.js';
import { RunIndex } from './run-index.js';

/** Messages the ordered consumer asks for at once while it replays the stream. */
const PULL_BATCH = 2_000;

export interface ReadModelOptions {
  /** Most runs kept (oldest finished dropped past it). */
  maxRuns: number;
  /** Finished runs older than this are dropped (the services' PW_RETENTION_MS: their events are purged). */
  retentionMs: number;
}

/**
 * The read model: PW_EVENTS replayed from its start by an ordered consumer (ephemeral, in memory on the
 * server, restarted by the client at the next sequence after any gap), then followed live, into the
 * RunIndex. A retention purge is not a message an ordered consumer sees, so finished runs older than
 * the retention are dropped by the clock (`sweep`), and the index never holds more than `maxRuns`.
 */
export class ReadModel implements RunsReadModel {
  readonly index = new RunIndex();
  private readonly listeners = new Set<(s: RunSummary) => void>();
  private messages: ConsumerMessages | undefined;
  private caughtUp = false;
  /** The stream sequence last applied (tests and /metrics read it). */
  lastSeq = 0;
  applied = 0;
  skipped = 0;

  constructor(
    private readonly opts: ReadModelOptions,
    private readonly log: Logger,
  ) {}

  get ready(): boolean {
    return this.caughtUp;
  }

  /** Starts the consumer; resolves once it runs (not once it has caught up: see `ready`). */
  async start(js: JetStreamClient): Promise<void> {
    const consumer = await js.consumers.get(INDEX_STREAM, { filter_subjects: [...INDEX_SUBJECTS], deliver_policy: DeliverPolicy.All });
    // The ordered consumer is created by `get`, so its info says how much there is to replay.
    if ((await consumer.info(true)).num_pending === 0) this.caughtUp = true;
    const started = Date.now();
    this.messages = await consumer.consume({ max_messages: PULL_BATCH });
    const messages = this.messages;
    void (async () => {
      try {
        for await (const m of messages) {
          this.lastSeq = m.seq;
          this.ingest(m.string());
          if (!this.caughtUp && m.info.pending === 0) {
            this.caughtUp = true;
            this.log.info({ runs: this.index.size, applied: this.applied, skipped: this.skipped, ms: Date.now() - started }, 'runs index caught up with PW_EVENTS');
          }
        }
      } catch (err) {
        this.log.error({ err: errorMessage(err) }, 'runs index consumer ended');
      }
    })();
  }

  /** Applies one event's JSON; what is not an event the index reads is skipped (counted, never fatal). */
  ingest(text: string): void {
    const json = parseJsonBounded(text);
    const ev = json.ok ? IndexEvent.safeParse(json.value) : undefined;
    if (!ev?.success) {
      this.skipped++;
      return;
    }
    this.applied++;
    const changed = this.index.apply(ev.data);
    if (changed) this.notify(changed);
    if (this.index.size > this.opts.maxRuns) {
      const dropped = this.index.evict(this.opts.maxRuns);
      this.log.info({ dropped, maxRuns: this.opts.maxRuns }, 'runs index full: oldest finished runs dropped (PW_CONSOLE_INDEX_MAX_RUNS)');
    }
  }

  /** Drops finished runs past retention; called on a timer. */
  sweep(nowMs: number): number {
    return this.index.dropFinishedBefore(nowMs - this.opts.retentionMs);
  }

  stop(): void {
    this.messages?.stop();
  }

  list(query: RunListQuery): OpResult<RunListPage> {
    const f = toFilter(query);
    if (!f.ok) return { ok: false, status: 400, error: { code: 'bad_request', message: 'invalid query', issues: f.issues } };
    return { ok: true, status: 200, value: this.index.list(f.filter) };
  }

  batch(labels: Labels): BatchStats {
    return this.index.batch(labels, Date.now());
  }

  summary(runId: string): RunSummary | undefined {
    const e = this.index.get(runId);
    return e && toSummary(e);
  }

  /** Unfinished runs with every label (for cancel by label). */
  unfinishedWith(labels: Labels): string[] {
    return this.index.unfinishedWith(labels).map((e) => e.runId);
  }

  subscribe(listener: (summary: RunSummary) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(e: Entry): void {
    if (this.listeners.size === 0) return;
    const s = toSummary(e);
    for (const l of this.listeners) {
      try {
        l(s);
      } catch (err) {
        this.log.warn({ err: errorMessage(err) }, 'a runs listener failed');
      }
    }
  }
}

/** Parses a raw query object (from the URL) as a RunListQuery; issues name the parameter. */
export function parseListQuery(raw: Record<string, unknown>): { ok: true; query: RunListQuery } | { ok: false; issues: ReturnType<typeof fromZodError> } {
  const parsed = RunListQuery.safeParse(raw);
  return parsed.success ? { ok: true, query: parsed.data } : { ok: false, issues: fromZodError(parsed.error) };
}
