import { MongoServerError, type Collection } from 'mongodb';
import { Lru } from '../ledger/lru.js';

/** One claimed version, `_id` = `<key>#<version>`: the insert that makes a write happen. Never changed. */
export interface ClaimRow {
  _id: string;
  key: string;
  version: number;
  json: string;
  at: Date;
}
/** Checkpoint n of a document, `_id` = `<key>@<n>`: a copy of one of its versions. Never changed. */
export interface CheckpointRow {
  _id: string;
  key: string;
  n: number;
  version: number;
  json: string;
  at: Date;
}
/** Where to start looking for a document's newest checkpoint (a hint: it may lag). */
export interface HintRow {
  _id: string;
  n: number;
}
/** A checkpoint that has a successor, `_id` = the checkpoint's: deleted once older than the retention. */
export interface RetiredRow {
  _id: string;
  at: Date;
}

const DUPLICATE_KEY = 11000;
export const isDuplicate = (err: unknown) => err instanceof MongoServerError && err.code === DUPLICATE_KEY;
export const claimId = (key: string, version: number) => `${key}#${version}`;
const checkpointId = (key: string, n: number) => `${key}@${n}`;
const ignoreDuplicate = (err: unknown) => {
  if (!isDuplicate(err)) throw err;
};

/** The chain's end as last seen: number and version of the newest checkpoint (0, 0: none yet). */
export interface ChainEnd {
  n: number;
  version: number;
  row?: CheckpointRow;
}

const KNOWN_ENTRIES = 10_000;
/** Attempts at appending a checkpoint before giving up on this pass. */
const COVER_TRIES = 16;

/**
 * Each document's checkpoints form a chain numbered 1, 2, 3, … that only grows by inserts: checkpoint
 * n + 1 is inserted after reading n, holding a newer version than n, and its unique `_id` lets exactly
 * one writer append it. So the newest checkpoint never goes backwards, on FerretDB as on MongoDB, with
 * no conditional update anywhere. A claim is deleted only after a checkpoint holds its version or a newer
 * one; a checkpoint only once its successor is older than the retention. Everything is found by `_id`
 * (FerretDB scans a collection for any other filter), starting from the end this process saw last or
 * from the document's hint.
 */
export class CheckpointChain {
  private readonly known = new Lru<string, { n: number; version: number; at: number }>(KNOWN_ENTRIES);
  /**
   * How long a chain end this process saw is trusted as a starting point: well below the retention, so
   * its successor (added after it was seen) cannot have been deleted yet.
   */
  private readonly trustMs: number;

  constructor(
    private readonly rows: Collection<CheckpointRow>,
    private readonly hints: Collection<HintRow>,
    private readonly retired: Collection<RetiredRow>,
    private readonly retentionMs: number,
  ) {
    this.trustMs = retentionMs / 3;
  }

  /** The newest checkpoint now (its row when it was read on the way). */
  async end(key: string): Promise<ChainEnd> {
    let at: ChainEnd = await this.start(key);
    for (;;) {
      const next = await this.rows.findOne({ _id: checkpointId(key, at.n + 1) });
      if (!next) break;
      at = { n: next.n, version: next.version, row: next };
    }
    this.known.set(key, { n: at.n, version: at.version, at: Date.now() });
    return at;
  }

  /** The newest checkpoint with its content; undefined when the document has none. */
  async endRow(key: string): Promise<CheckpointRow | undefined> {
    for (let tries = 0; tries < COVER_TRIES; tries++) {
      const at = await this.end(key);
      if (at.n === 0) return undefined;
      const row = at.row ?? (await this.rows.findOne({ _id: checkpointId(key, at.n) }));
      if (row) return row;
      // Retired under a reader that paused for longer than the retention: start again from the hint.
      this.known.delete(key);
    }
    throw new Error(`ledger ${key}: its newest checkpoint keeps moving away`);
  }

  /**
   * Makes the chain hold `version` of the document or a newer one, copied from its claim; returns the
   * chain's end after. The claim is read after the chain's end: if the next checkpoint then goes in,
   * nothing covered this version meanwhile, so the claim is the version's own (a pruned claim's number can
   * be taken again by a writer that read long ago, but only once something covers it).
   */
  async cover(key: string, claims: Collection<ClaimRow>, version: number): Promise<ChainEnd> {
    for (let tries = 0; tries < COVER_TRIES; tries++) {
      const at = await this.end(key);
      if (at.version >= version) return at;
      const claim = await claims.findOne({ _id: claimId(key, version) });
      if (!claim) continue;
      const row: CheckpointRow = { _id: checkpointId(key, at.n + 1), key, n: at.n + 1, version, json: claim.json, at: new Date() };
      try {
        await this.rows.insertOne(row);
      } catch (err) {
        ignoreDuplicate(err);
        continue;
      }
      this.known.set(key, { n: row.n, version, at: Date.now() });
      if (at.n > 0) await this.retired.insertOne({ _id: checkpointId(key, at.n), at: new Date() }).catch(ignoreDuplicate);
      return { n: row.n, version, row };
    }
    throw new Error(`ledger ${key}: could not checkpoint version ${version} (contention)`);
  }

  /**
   * Points the document's hint at `end` when it is behind. Pruning does this before it deletes any claim,
   * so a document without a hint has lost no claim; racing writes may leave the hint a little behind.
   */
  async pointHint(key: string, end: ChainEnd): Promise<void> {
    const hint = await this.hints.findOne({ _id: key });
    if (hint && hint.n >= end.n) return;
    await this.hints.updateOne({ _id: key }, { $set: { n: end.n } }, { upsert: true }).catch(ignoreDuplicate);
  }

  /** Deletes checkpoints whose successor has been there longer than the retention. */
  async dropRetired(now: number, batch: number): Promise<number> {
    const old = await this.retired.find({ at: { $lt: new Date(now - this.retentionMs) } }, { projection: { _id: 1 } }).limit(batch).toArray();
    if (old.length === 0) return 0;
    const ids = old.map((r) => r._id);
    await this.rows.deleteMany({ _id: { $in: ids } });
    await this.retired.deleteMany({ _id: { $in: ids } });
    return ids.length;
  }

  /** A checkpoint known to exist (recently seen end, or the hint's), or none when the document has no hint. */
  private async start(key: string): Promise<ChainEnd> {
    const known = this.known.get(key);
    if (known && Date.now() - known.at < this.trustMs) return known;
    const hint = await this.hints.findOne({ _id: key });
    // No hint: pruning never deleted a claim of this document (it points the hint first), so the claims
    // from version 1 on are all there; checkpoints from 1 on, where still there, only shorten the walk.
    if (!hint) return { n: 0, version: 0 };
    const row = await this.rows.findOne({ _id: checkpointId(key, hint.n) });
    if (row) return { n: row.n, version: row.version, row };
    // The hint lags behind checkpoints already retired (racing hint writes): find the newest the slow way.
    const [newest] = await this.rows.find({ key }).sort({ n: -1 }).limit(1).toArray();
    return newest ? { n: newest.n, version: newest.version, row: newest } : { n: 0, version: 0 };
  }
}
