import type { Filter } from 'mongodb';
import { RunState, RunStatus, TERMINAL_STATUSES } from '@pipewright/contracts';
import type { RunFilter, RunStore, RunSummary, Versioned, WriteOptions, WriteResult } from '../types.js';
import type { Collections, RunFields } from './collections.js';
import { toDate, type Expiry } from './expiry.js';
import type { NewVersion } from './versioned.js';

/**
 * Runs as versioned documents (versioned.ts): create writes version 1, an update from version v writes
 * v + 1 and cuts v down to a tombstone; reads take the newest live version. What this adds: the fields
 * runs are listed by, and expiry (see expiry.ts).
 */
export class MongoRunStore implements RunStore {
  constructor(
    private readonly c: Collections,
    private readonly expiry: Expiry,
  ) {}

  async create(state: RunState, opts: WriteOptions = {}): Promise<WriteResult> {
    const w = await this.c.runs.create(this.version(state, opts.json));
    if (w.ok) await this.afterWrite(state);
    return w;
  }

  async get(runId: string): Promise<Versioned<RunState> | undefined> {
    const doc = await this.c.runs.get(runId);
    return doc ? { value: RunState.parse(JSON.parse(doc.json)), version: doc.version } : undefined;
  }

  async update(state: RunState, expectedVersion: number, opts: WriteOptions = {}): Promise<WriteResult> {
    const w = await this.c.runs.update(this.version(state, opts.json), expectedVersion, this.expiryOf(state));
    if (w.ok) await this.afterWrite(state);
    return w;
  }

  async list(filter: RunFilter = {}): Promise<RunSummary[]> {
    const q: Filter<RunFields> = {};
    if (filter.status) q.status = filter.status;
    if (filter.pipeline) q.pipeline = filter.pipeline;
    const docs = await this.c.runs.listNewest(q, { sort: { createdTs: -1 }, limit: filter.limit ?? 100, withJson: false });
    return docs.map((d) => ({ runId: d.runId, status: RunStatus.parse(d.status), pipeline: d.pipeline, tenant: d.tenant, createdAt: d.createdAt, updatedAt: d.updatedAt }));
  }

  async delete(runId: string): Promise<void> {
    await this.c.runs.delete(runId);
  }

  async listFinishedBefore(before: Date, limit: number): Promise<string[]> {
    const docs = await this.c.runs.listNewest({ finishedTs: { $lt: before } }, { sort: { finishedTs: 1 }, limit, withJson: false });
    return docs.map((d) => d.runId);
  }

  private version(state: RunState, json?: string): NewVersion<RunFields> {
    const finished = TERMINAL_STATUSES.has(state.status) ? toDate(state.finishedAt ?? state.updatedAt) : undefined;
    return {
      fields: {
        runId: state.runId,
        status: state.status,
        pipeline: state.pipeline.name,
        tenant: state.tenant,
        createdAt: state.createdAt,
        updatedAt: state.updatedAt,
        createdTs: toDate(state.createdAt),
        ...(finished ? { finishedTs: finished } : {}),
      },
      json: json ?? JSON.stringify(state),
      ...(finished ? { expireAt: this.expiry.ofFinishedRun(finished) } : {}),
    };
  }

  /** A finished run's instant of removal; for a live run an upper bound (see Expiry). */
  private expiryOf(state: RunState): Date {
    return TERMINAL_STATUSES.has(state.status) ? this.expiry.ofFinishedRun(toDate(state.finishedAt ?? state.updatedAt)) : this.expiry.ofChild(new Date());
  }

  /**
   * A finished run takes everything it wrote with it: the expiry of its older versions and blobs is
   * lowered to its own. Best effort: the write has happened, and failing now would make the caller redo
   * it; a document whose expiry is not lowered keeps an upper bound, which only keeps it longer.
   */
  private async afterWrite(state: RunState): Promise<void> {
    if (!TERMINAL_STATUSES.has(state.status)) {
      if (state.resumes) await this.raiseAfterResume(state.runId);
      return;
    }
    const expireAt = this.expiryOf(state);
    const later = { runId: state.runId, expireAt: { $gt: expireAt } };
    await Promise.allSettled([this.c.runs.lowerExpiry(state.runId, expireAt), this.c.blobs.updateMany(later, { $set: { expireAt } })]);
  }

  /**
   * A resumed run is live again, so the blobs its end gave the run's removal instant (end + retention)
   * get a live run's bound back. Only those match: a blob with a live bound expires after now +
   * retention. Tried on every write of a resumed run's new life, so a raise that failed is made by the
   * next write, long before the lowered instant (retention) comes.
   */
  private async raiseAfterResume(runId: string): Promise<void> {
    const now = new Date();
    const lowered = { runId, expireAt: { $lt: this.expiry.ofFinishedRun(now) } };
    await this.c.blobs.updateMany(lowered, { $set: { expireAt: this.expiry.ofChild(now) } }).catch(() => undefined);
  }
}
