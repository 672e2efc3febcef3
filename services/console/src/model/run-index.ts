import { RunStatus, type BatchStats, type RunListPage, type RunSummary } from '@pipewright/contracts';
import { applyToEntry } from './apply.js';
import { isFinished, toSummary, type Entry } from './entry.js';
import type { IndexEvent } from './events.js';
import { encodeCursor, matches, type ListFilter } from './query.js';
import { compareKeys, SortedRuns, type Keyed } from './sorted-runs.js';

/** Failures a batch lists (newest first). */
const BATCH_FAILURES = 20;
/** Throughput is counted over this window. */
const THROUGHPUT_WINDOW_MS = 5 * 60_000;
/** Eviction frees this share of the limit at once, so a full index does not evict on every new run. */
const EVICT_SLACK = 0.01;

const labelKey = (k: string, v: string) => `${k}=${v}`;

/**
 * The runs index (pure: no IO, no clock): a map of entries plus sorted lists — every run, and one per
 * status, label, pipeline and tenant — so a filtered page walks the smallest list that applies from the
 * cursor on, instead of every run.
 */
export class RunIndex {
  private readonly runs = new Map<string, Entry>();
  private readonly all = new SortedRuns<Entry>();
  private readonly byStatus = new Map<string, SortedRuns<Entry>>();
  private readonly byLabel = new Map<string, SortedRuns<Entry>>();
  private readonly byPipeline = new Map<string, SortedRuns<Entry>>();
  private readonly byTenant = new Map<string, SortedRuns<Entry>>();

  get size(): number {
    return this.runs.size;
  }

  get(runId: string): Entry | undefined {
    return this.runs.get(runId);
  }

  /** Applies one event; returns the run's entry when its summary changed. */
  apply(ev: IndexEvent): Entry | undefined {
    const known = this.runs.get(ev.runId);
    if (!known) {
      // A run enters the index with its start; events of a run whose start is gone (purged, evicted) are ignored.
      if (ev.type !== 'run.started') return undefined;
      const e: Entry = {
        runId: ev.runId,
        createdAtMs: Date.parse(ev.at),
        createdAt: ev.at,
        updatedAt: ev.at,
        status: 'running',
        pipeline: ev.pipeline,
        tenant: ev.tenant,
        labels: ev.labels ?? {},
        stepIds: ev.steps,
        costUsd: 0,
        totalTokens: 0,
        succeeded: new Set(ev.rerunOf?.reused ?? []),
        succeededCount: 0,
        approvals: new Set(),
        parked: new Set(),
        ...(ev.rerunOf ? { rerunOf: { runId: ev.rerunOf.runId, stepId: ev.rerunOf.stepId } } : {}),
      };
      applyToEntry(e, ev);
      this.runs.set(e.runId, e);
      this.all.insert(e);
      this.indexOf(this.byStatus, e.status).insert(e);
      this.indexOf(this.byPipeline, e.pipeline).insert(e);
      this.indexOf(this.byTenant, e.tenant).insert(e);
      for (const [k, v] of Object.entries(e.labels)) this.indexOf(this.byLabel, labelKey(k, v)).insert(e);
      return e;
    }
    const before = known.status;
    if (!applyToEntry(known, ev)) return undefined;
    if (known.status !== before) {
      this.dropFrom(this.byStatus, before, known);
      this.indexOf(this.byStatus, known.status).insert(known);
    }
    return known;
  }

  /** A page of runs, newest first, that pass every filter. `stats.visited` counts the runs looked at. */
  list(f: ListFilter, stats?: { visited: number }): RunListPage {
    const source = this.smallestSource(f);
    const runs: RunSummary[] = [];
    let last: Entry | undefined;
    for (const e of walkNewestFirst(source, startKey(f))) {
      if (stats) stats.visited++;
      if (f.sinceMs !== undefined && e.createdAtMs < f.sinceMs) break;
      if (!matches(e, f)) continue;
      runs.push(toSummary(e));
      last = e;
      if (runs.length >= f.limit) break;
    }
    return runs.length >= f.limit && last ? { runs, nextCursor: encodeCursor(last) } : { runs };
  }

  /** Progress of every run with all `labels` (`nowMs` for the throughput window). */
  batch(labels: Readonly<Record<string, string>>, nowMs: number): BatchStats {
    const pairs = Object.entries(labels);
    const counts = Object.fromEntries(RunStatus.options.map((s) => [s, 0])) as Record<RunStatus, number>;
    const failures: Entry[] = [];
    let total = 0;
    let costUsd = 0;
    let totalTokens = 0;
    let recent = 0;
    let first: Entry | undefined;
    let lastFinished: Entry | undefined;
    for (const e of walkNewestFirst(this.smallestSource({ labels: pairs, limit: 0 }), undefined)) {
      if (!matches(e, { labels: pairs })) continue;
      total++;
      counts[e.status]++;
      costUsd += e.costUsd;
      totalTokens += e.totalTokens;
      first = e;
      if (e.finishedAtMs !== undefined) {
        if (e.finishedAtMs >= nowMs - THROUGHPUT_WINDOW_MS) recent++;
        if (!lastFinished || e.finishedAtMs > lastFinished.finishedAtMs!) lastFinished = e;
        if (e.status !== 'succeeded') failures.push(e);
      }
    }
    failures.sort((a, b) => b.finishedAtMs! - a.finishedAtMs!);
    return {
      labels: { ...labels },
      total,
      counts,
      throughputPerMin: recent / (THROUGHPUT_WINDOW_MS / 60_000),
      costUsd: Math.round(costUsd * 1e9) / 1e9,
      totalTokens,
      ...(first ? { firstCreatedAt: first.createdAt } : {}),
      ...(lastFinished?.finishedAt ? { lastFinishedAt: lastFinished.finishedAt } : {}),
      failures: failures.slice(0, BATCH_FAILURES).map(toSummary),
    };
  }

  /** Every unfinished run with all `labels` (cancel by label). */
  unfinishedWith(labels: Readonly<Record<string, string>>): Entry[] {
    const pairs = Object.entries(labels);
    const out: Entry[] = [];
    for (const e of walkNewestFirst(this.smallestSource({ labels: pairs, limit: 0 }), undefined)) if (!isFinished(e) && matches(e, { labels: pairs })) out.push(e);
    return out;
  }

  /**
   * Keeps at most `maxRuns`: drops the oldest finished runs (with some slack, so this runs rarely).
   * Unfinished runs are never dropped. Returns how many were dropped.
   */
  evict(maxRuns: number): number {
    if (this.runs.size <= maxRuns) return 0;
    const target = Math.floor(maxRuns * (1 - EVICT_SLACK));
    const gone = new Set<Entry>();
    for (let i = 0; i < this.all.size && this.runs.size - gone.size > target; i++) {
      const e = this.all.at(i)!;
      if (isFinished(e)) gone.add(e);
    }
    this.removeAll(gone);
    return gone.size;
  }

  /** Drops runs that finished before `beforeMs` (the store's retention has removed or will remove them). */
  dropFinishedBefore(beforeMs: number): number {
    const gone = new Set<Entry>();
    for (const e of this.runs.values()) if (e.finishedAtMs !== undefined && e.finishedAtMs < beforeMs) gone.add(e);
    this.removeAll(gone);
    return gone.size;
  }

  private removeAll(gone: ReadonlySet<Entry>): void {
    if (gone.size === 0) return;
    for (const e of gone) this.runs.delete(e.runId);
    this.all.removeAll(gone);
    for (const m of [this.byStatus, this.byLabel, this.byPipeline, this.byTenant])
      for (const [k, list] of m) {
        list.removeAll(gone);
        if (list.size === 0) m.delete(k);
      }
  }

  /** The lists that may hold the page: the filter's dimension with the fewest runs (statuses: their union). */
  private smallestSource(f: ListFilter): SortedRuns<Entry>[] {
    const empty = [new SortedRuns<Entry>()];
    const options: SortedRuns<Entry>[][] = [[this.all]];
    const one = (m: Map<string, SortedRuns<Entry>>, key: string) => {
      const list = m.get(key);
      options.push(list ? [list] : empty);
    };
    if (f.statuses) options.push([...f.statuses].flatMap((s) => this.byStatus.get(s) ?? []));
    if (f.pipeline !== undefined) one(this.byPipeline, f.pipeline);
    if (f.tenant !== undefined) one(this.byTenant, f.tenant);
    for (const [k, v] of f.labels) one(this.byLabel, labelKey(k, v));
    const sizeOf = (lists: SortedRuns<Entry>[]) => lists.reduce((n, l) => n + l.size, 0);
    return options.reduce((best, o) => (sizeOf(o) < sizeOf(best) ? o : best));
  }

  private indexOf(m: Map<string, SortedRuns<Entry>>, key: string): SortedRuns<Entry> {
    let list = m.get(key);
    if (!list) m.set(key, (list = new SortedRuns<Entry>()));
    return list;
  }

  private dropFrom(m: Map<string, SortedRuns<Entry>>, key: string, e: Entry): void {
    const list = m.get(key);
    list?.remove(e);
    if (list?.size === 0) m.delete(key);
  }
}

/** Where a page starts: before the cursor, and before `until`, whichever is earlier. */
function startKey(f: ListFilter): Keyed | undefined {
  const until: Keyed | undefined = f.untilMs !== undefined ? { createdAtMs: f.untilMs, runId: '' } : undefined;
  if (!until) return f.after;
  if (!f.after) return until;
  return compareKeys(f.after, until) < 0 ? f.after : until;
}

/** Runs of the lists merged newest first, strictly before `before` (k-way merge; k is at most the statuses). */
function* walkNewestFirst(lists: readonly SortedRuns<Entry>[], before: Keyed | undefined): Generator<Entry> {
  const pos = lists.map((l) => (before ? l.lowerBound(before) : l.size) - 1);
  for (;;) {
    let best = -1;
    for (let i = 0; i < lists.length; i++) {
      const e = pos[i]! >= 0 ? lists[i]!.at(pos[i]!) : undefined;
      if (e && (best < 0 || compareKeys(e, lists[best]!.at(pos[best]!)!) > 0)) best = i;
    }
    if (best < 0) return;
    yield lists[best]!.at(pos[best]!)!;
    pos[best]!--;
  }
}
