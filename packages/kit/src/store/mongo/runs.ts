import type { Filter } from 'mongodb';
import { RunState, RunStatus, TERMINAL_STATUSES } from '@pipewright/contracts';
import type { RunFilter, RunStore, RunSummary, Versioned, WriteResult } from '../types.js';
import type { Collections, DecisionDoc, RunDoc } from './collections.js';
import { isDuplicateKey } from './errors.js';
import { toDate, type Expiry } from './expiry.js';

const versionId = (runId: string, version: number) => `${runId}:${version}`;
/** The current version of a run: tombstones never match. */
const LIVE = { superseded: { $exists: false } } as const;
const HEAD_FIELDS = { status: '', pipeline: '', tenant: '', createdAt: '', updatedAt: '', createdTs: '', finishedTs: '', json: '' } as const;

/**
 * Runs as versions (see RunDoc): create inserts version 1; an update from version v inserts v+1, then
 * cuts v down to a tombstone. Reads take the newest live version.
 */
export class MongoRunStore implements RunStore {
  constructor(
    private readonly c: Collections,
    private readonly expiry: Expiry,
  ) {}

  async create(state: RunState): Promise<WriteResult> {
    try {
      await this.c.runs.insertOne(this.versionDoc(state, 1));
    } catch (err) {
      if (isDuplicateKey(err)) return { ok: false, reason: 'exists' };
      throw err;
    }
    await this.afterWrite(state, 1);
    return { ok: true, version: 1 };
  }

  async get(runId: string): Promise<Versioned<RunState> | undefined> {
    const [doc] = await this.c.runs.find({ runId, ...LIVE }, { projection: { version: 1, json: 1 } }).sort({ version: -1 }).limit(1).toArray();
    if (!doc?.json) return undefined;
    return { value: RunState.parse(JSON.parse(doc.json)), version: doc.version };
  }

  async update(state: RunState, expectedVersion: number): Promise<WriteResult> {
    const version = expectedVersion + 1;
    try {
      await this.c.runs.insertOne(this.versionDoc(state, version));
    } catch (err) {
      if (isDuplicateKey(err)) return { ok: false, reason: 'conflict' };
      throw err;
    }
    // Retire the version this one replaces. That it exists is part of the compare-and-set: an update
    // of an unknown (or removed) run is a conflict, and the version just written is taken back.
    const retired = await this.c.runs.updateOne({ _id: versionId(state.runId, expectedVersion) }, this.tombstone(state));
    if (retired.matchedCount === 0) {
      await this.c.runs.deleteOne({ _id: versionId(state.runId, version) });
      return { ok: false, reason: 'conflict' };
    }
    await this.afterWrite(state, version);
    return { ok: true, version };
  }

  async list(filter: RunFilter = {}): Promise<RunSummary[]> {
    const q: Filter<RunDoc> = { ...LIVE };
    if (filter.status) q.status = filter.status;
    if (filter.pipeline) q.pipeline = filter.pipeline;
    const limit = filter.limit ?? 100;
    // Between a write and the retiring of the version it replaced, a run has two live versions: ask
    // for a few more, and keep only versions that are their run's newest.
    const docs = await this.c.runs.find(q, { projection: { json: 0 } }).sort({ createdTs: -1, version: -1 }).limit(limit + 16).toArray();
    const newest = await this.newestVersions([...new Set(docs.map((d) => d.runId))]);
    const out: RunSummary[] = [];
    for (const d of docs) {
      if (out.length >= limit || newest.get(d.runId) !== d.version) continue;
      newest.delete(d.runId);
      out.push({ runId: d.runId, status: RunStatus.parse(d.status), pipeline: d.pipeline ?? '', tenant: d.tenant ?? '', createdAt: d.createdAt ?? '', updatedAt: d.updatedAt ?? '' });
    }
    return out;
  }

  private async newestVersions(runIds: string[]): Promise<Map<string, number>> {
    const newest = new Map<string, number>();
    if (runIds.length === 0) return newest;
    for (const d of await this.c.runs.find({ runId: { $in: runIds } }, { projection: { runId: 1, version: 1 } }).toArray()) {
      if (d.version > (newest.get(d.runId) ?? 0)) newest.set(d.runId, d.version);
    }
    return newest;
  }

  async delete(runId: string): Promise<void> {
    await this.c.runs.deleteMany({ runId });
  }

  async listFinishedBefore(before: Date, limit: number): Promise<string[]> {
    const docs = await this.c.runs.find({ finishedTs: { $lt: before }, ...LIVE }, { projection: { runId: 1 } }).sort({ finishedTs: 1 }).limit(limit).toArray();
    return [...new Set(docs.map((d) => d.runId))];
  }

  private versionDoc(state: RunState, version: number): RunDoc {
    const finished = TERMINAL_STATUSES.has(state.status) ? toDate(state.finishedAt ?? state.updatedAt) : undefined;
    return {
      _id: versionId(state.runId, version),
      runId: state.runId,
      version,
      status: state.status,
      pipeline: state.pipeline.name,
      tenant: state.tenant,
      createdAt: state.createdAt,
      updatedAt: state.updatedAt,
      createdTs: toDate(state.createdAt),
      ...(finished ? { finishedTs: finished, expireAt: this.expiry.ofFinishedRun(finished) } : {}),
      json: JSON.stringify(state),
    };
  }

  /** What a replaced version becomes: its key stays taken (a stale writer still conflicts), its state goes. */
  private tombstone(state: RunState) {
    return { $set: { superseded: true as const, expireAt: this.expiryOf(state) }, $unset: HEAD_FIELDS };
  }

  /** A finished run's instant of removal; for a live run an upper bound (see Expiry). */
  private expiryOf(state: RunState): Date {
    return TERMINAL_STATUSES.has(state.status) ? this.expiry.ofFinishedRun(toDate(state.finishedAt ?? state.updatedAt)) : this.expiry.ofChild(new Date());
  }

  /**
   * A finished run takes everything it wrote with it: the expiry of its older versions, steps, tool
   * calls, decisions and blobs is lowered to its own, and the decisions of this last transition are
   * written here with that expiry, because the planner appends them only after this write (its later
   * append of the same (runId, seq) is then a no-op). Best effort: the write has happened, and failing now would
   * make the caller redo it; a document whose expiry is not lowered keeps an upper bound, which only
   * keeps it longer.
   */
  private async afterWrite(state: RunState, version: number): Promise<void> {
    if (!TERMINAL_STATUSES.has(state.status)) return;
    const expireAt = this.expiryOf(state);
    const later = { runId: state.runId, expireAt: { $gt: expireAt } };
    const decisions: DecisionDoc[] = (state.outbox?.decisions ?? []).map((d) => ({ runId: d.runId, seq: d.seq, json: JSON.stringify(d), expireAt }));
    await Promise.allSettled([
      this.c.runs.updateMany({ ...later, version: { $lt: version } }, { $set: { expireAt } }),
      this.c.steps.updateMany(later, { $set: { expireAt } }),
      this.c.decisions.updateMany(later, { $set: { expireAt } }),
      this.c.toolCalls.updateMany(later, { $set: { expireAt } }),
      this.c.blobs.updateMany(later, { $set: { expireAt } }),
      decisions.length > 0 ? this.c.decisions.insertMany(decisions, { ordered: false }) : undefined,
    ]);
  }
}
