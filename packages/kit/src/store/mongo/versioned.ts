import type { Collection, Db, Document, Filter, IndexDescription, Sort } from 'mongodb';
import type { WriteResult } from '../types.js';
import { isDuplicateKey } from './errors.js';
import { createMissingIndexes } from './indexes.js';

/**
 * Versioned documents with compare-and-set, using no atomic step but an insert under a unique `_id`.
 *
 * Why not one document per entity written with `replaceOne({ _id, version })`: FerretDB 1.24, the
 * stand-in for MongoDB on these machines, does not apply a conditional update atomically on any of its
 * backends (its update queries the matching documents, then writes each by `_id` in a statement of its
 * own). `bench/src/mongo-cas-probe.ts` measured it: of 720 acknowledged compare-and-set writes, 529–677
 * were lost, with replaceOne, updateOne ($set, $inc) and findOneAndUpdate alike, on SQLite and on
 * PostgreSQL (serializable isolation too). An insert under a unique key is atomic on every server.
 *
 * - Each version of an entity is its own document, `_id` = `<key>:<version>`.
 * - Create inserts version 1. An update from version v inserts v + 1: of the writers that read v,
 *   exactly one insert succeeds; the others get a duplicate key, a `conflict`.
 * - The replaced version is then cut down to a tombstone: its value and fields go, its `_id` stays, so
 *   a writer still holding an older version conflicts too. Only a live version can be cut, so an update
 *   whose base is not live (replaced already, pruned, never written) is a conflict, and its insert is
 *   taken back.
 * - Reads take the newest live version; listings keep each key's newest version.
 *
 * Cost: a write is an insert plus a tombstone update, on MongoDB too (the same code runs there).
 */

/** What every stored version carries besides the caller's fields. */
interface VersionMeta {
  /** `<key>:<version>`; its uniqueness is the compare-and-set. */
  _id: string;
  version: number;
  /** On a tombstone: a newer version exists; the value and the caller's fields (but the key) are gone. */
  superseded?: true;
  /** When the document may go: a TTL index removes it then, or `prune` (tombstones only). */
  expireAt?: Date;
  /** The value as JSON text (on live versions). */
  json?: string;
}
type StoredDoc = VersionMeta & Record<string, unknown>;

/** A live version as read: the caller's fields, the version and the value (JSON text). */
export type VersionDoc<F> = F & { readonly version: number; readonly json: string };
/** A live version listed without its value. */
export type VersionSummary<F> = F & { readonly version: number };

export interface NewVersion<F> {
  /** The fields queries filter and sort on, the key field among them; a tombstone keeps only the key. */
  fields: F;
  /** The value, as JSON text (keys starting with `$` or holding `.` would be refused as BSON field names). */
  json: string;
  /** When a TTL index may remove this version; absent: it stays until its key is deleted. */
  expireAt?: Date;
}

export interface VersionedOptions<F> {
  /** The field of `F` that holds the entity's key (`runId`, `approvalId`, …); kept on tombstones. */
  keyField: keyof F & string;
  /** Name of the (key, version) index that reads use. @default `<keyField>_version` */
  indexName?: string;
}

export interface VersionListOptions {
  /** Order of the result. Sort on fields that a new version does not change, or the order is the query's. */
  sort?: Sort;
  /** At most this many versions, one per key. */
  limit: number;
}

/** Tombstones never match: a filter with this only sees live versions. */
const LIVE = { superseded: { $exists: false } } as const;
/** A key being written has two live versions for a moment: a listing asks for this many more. */
const LIST_SLACK = 16;
const CONFLICT: WriteResult = { ok: false, reason: 'conflict' };

const versionId = (key: string, version: number) => `${key}:${version}`;

export class VersionedCollection<F extends Document> {
  private readonly c: Collection<StoredDoc>;
  private readonly keyField: string;
  private readonly indexName: string;

  constructor(db: Db, name: string, opts: VersionedOptions<F>) {
    this.c = db.collection<StoredDoc>(name);
    this.keyField = opts.keyField;
    this.indexName = opts.indexName ?? `${opts.keyField}_version`;
  }

  /** The (key, version) index reads and listings use, and `extra` for the caller's queries; idempotent. */
  async ensureIndexes(extra: readonly IndexDescription[] = []): Promise<void> {
    await createMissingIndexes(this.c, [{ key: { [this.keyField]: 1, version: -1 }, name: this.indexName, unique: true }, ...extra]);
  }

  /** Version 1 of a new key; `exists` when the key has (or had, see `prune`) a version 1. */
  async create(v: NewVersion<F>): Promise<WriteResult> {
    return (await this.insert(v, 1)) ? { ok: true, version: 1 } : { ok: false, reason: 'exists' };
  }

  /** The newest live version of `key`, or undefined when it has none. */
  async get(key: string): Promise<VersionDoc<F> | undefined> {
    const [doc] = await this.c.find({ [this.keyField]: key, ...LIVE }).sort({ version: -1 }).limit(1).toArray();
    return doc as VersionDoc<F> | undefined;
  }

  /**
   * Writes version `expectedVersion + 1` if `expectedVersion` is the newest live one; `conflict`
   * otherwise, and nothing changes. The replaced version becomes a tombstone expiring at
   * `retiredExpireAt` (absent: it stays until its key is deleted). A thrown error leaves the outcome
   * unknown, as with any write: the new version may stand, and a read then returns it.
   */
  async update(v: NewVersion<F>, expectedVersion: number, retiredExpireAt?: Date): Promise<WriteResult> {
    const key = this.keyOf(v.fields);
    const version = expectedVersion + 1;
    if (!(await this.insert(v, version))) return CONFLICT;
    // Cut v, and learn what it was: only a live v may be cut. Only the writer of v + 1 can find v live
    // (no one else can have inserted v + 1 while it stands; but see `prune`). A stale writer finds a
    // tombstone (and leaves a tombstone) or nothing. The filter is `_id` alone, which FerretDB looks up
    // by key instead of scanning the collection; it has no projection for findAndModify.
    const tombstone = { [this.keyField]: key, version: expectedVersion, superseded: true as const, ...(retiredExpireAt ? { expireAt: retiredExpireAt } : {}) };
    const before = await this.c.findOneAndReplace({ _id: versionId(key, expectedVersion) }, tombstone, { returnDocument: 'before' });
    if (before !== null && before.superseded !== true) return { ok: true, version };
    await this.c.deleteOne({ _id: versionId(key, version) });
    return CONFLICT;
  }

  /**
   * The newest live version of each key that has a version matching `filter`, if that newest version
   * matches `filter` too: a key written between the query and the check is listed as its new version
   * (or left out when that no longer matches), never as an old one.
   */
  listNewest(filter: Filter<F>, opts: VersionListOptions & { withJson: false }): Promise<VersionSummary<F>[]>;
  listNewest(filter: Filter<F>, opts: VersionListOptions): Promise<VersionDoc<F>[]>;
  async listNewest(filter: Filter<F>, opts: VersionListOptions & { withJson?: boolean }): Promise<VersionSummary<F>[]> {
    const query = { ...filter, ...LIVE } as Filter<StoredDoc>;
    const found = await this.sorted(this.c.find(query, { projection: { [this.keyField]: 1 } }), opts.sort)
      .limit(opts.limit + LIST_SLACK)
      .toArray();
    const newest = await this.newestVersions([...new Set(found.map((d) => String(d[this.keyField])))]);
    if (newest.size === 0) return [];
    const ids = [...newest].map(([key, version]) => versionId(key, version));
    const docs = await this.sorted(this.c.find({ ...query, _id: { $in: ids } }, opts.withJson === false ? { projection: { json: 0 } } : {}), opts.sort)
      .limit(opts.limit)
      .toArray();
    return docs as unknown as VersionSummary<F>[];
  }

  /** Removes every version of `key`, tombstones included: the key can be created again. */
  async delete(key: string): Promise<void> {
    await this.c.deleteMany({ [this.keyField]: key });
  }

  /** Brings the expiry of `key`'s versions that expire later than `at` forward to `at`. */
  async lowerExpiry(key: string, at: Date): Promise<void> {
    await this.c.updateMany({ [this.keyField]: key, expireAt: { $gt: at } }, { $set: { expireAt: at } });
  }

  /**
   * Deletes up to `limit` tombstones whose `expireAt` has passed, for servers without TTL indexes (or
   * for callers that want no TTL index). Version 1 is kept, so that a create of an existing key still
   * finds it taken. Safe because an update cuts only a live base: a writer whose base was read before
   * its successor's tombstone went finds the number free, inserts it, fails to cut the base (a tombstone
   * or gone) and takes its insert back. What it assumes: no writer pauses between its insert and its cut
   * for longer than the tombstones' retention (then two writers could both cut one live version).
   */
  async prune(now: Date, limit: number): Promise<number> {
    const old = await this.c
      .find({ superseded: true, version: { $gt: 1 }, expireAt: { $lte: now } }, { projection: { _id: 1 } })
      .limit(limit)
      .toArray();
    if (old.length === 0) return 0;
    return (await this.c.deleteMany({ _id: { $in: old.map((d) => d._id) }, superseded: true })).deletedCount;
  }

  /** Newest live version number of each key. */
  private async newestVersions(keys: string[]): Promise<Map<string, number>> {
    const newest = new Map<string, number>();
    if (keys.length === 0) return newest;
    for (const d of await this.c.find({ [this.keyField]: { $in: keys }, ...LIVE }, { projection: { [this.keyField]: 1, version: 1 } }).toArray()) {
      const key = String(d[this.keyField]);
      if (d.version > (newest.get(key) ?? 0)) newest.set(key, d.version);
    }
    return newest;
  }

  private sorted<C extends { sort(s: Sort): C }>(cursor: C, sort: Sort | undefined): C {
    return sort === undefined ? cursor : cursor.sort(sort);
  }

  /** Inserts `version`; false when that `_id` is taken. */
  private async insert(v: NewVersion<F>, version: number): Promise<boolean> {
    const key = this.keyOf(v.fields);
    try {
      await this.c.insertOne({ ...v.fields, _id: versionId(key, version), version, json: v.json, ...(v.expireAt ? { expireAt: v.expireAt } : {}) });
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  private keyOf(fields: F): string {
    const key: unknown = fields[this.keyField];
    if (typeof key !== 'string' || key === '') throw new TypeError(`versioned document without a key in "${this.keyField}"`);
    return key;
  }
}
