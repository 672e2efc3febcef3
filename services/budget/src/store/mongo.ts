import { MongoClient, MongoServerError, type Collection } from 'mongodb';
import { Lru } from '../ledger/lru.js';
import type { CasResult, LedgerStore, StoredDoc } from './types.js';

/** Collections of the MongoDB store. */
export const BUDGET_COLLECTIONS = { heads: 'budget_ledger', claims: 'budget_ledger_versions', open: 'budget_open' } as const;

/**
 * A version claim is kept this long: longer than any writer may work from a version it read (its cache
 * age plus one write attempt, bounded by the writer's deadline), with room for clock skew between
 * replicas. Short, because FerretDB finds a document by scanning its collection.
 */
export const CLAIM_RETENTION_MS = 20_000;
/** A writer re-reads a document it cached longer ago than this. */
const MAX_CACHE_AGE_MS = 3_000;
const PRUNE_BATCH = 5_000;
const SEEN_ENTRIES = 10_000;
/** The head is moved forward every this many versions, and after a read that walked this many claims. */
const HEAD_EVERY_VERSIONS = 16;
const LONG_WALK = 4;

/** The current version of a document (JSON text: its maps are keyed by ids that make poor BSON field names). */
interface HeadRow {
  _id: string;
  version: number;
  json: string;
}
/** One claimed version, `_id` = `<key>#<version>`: the insert that makes a write happen. */
interface ClaimRow {
  _id: string;
  key: string;
  version: number;
  json: string;
  at: Date;
}
interface OpenRow {
  _id: string;
  at: Date;
}

const DUPLICATE_KEY = 11000;
const isDuplicate = (err: unknown) => err instanceof MongoServerError && err.code === DUPLICATE_KEY;
const claimId = (key: string, version: number) => `${key}#${version}`;

/**
 * The ledger on MongoDB. A write from version v claims version v+1 by inserting `<key>#<v+1>` with the
 * new document: the unique `_id` makes exactly one writer win, on MongoDB and on FerretDB alike. (A
 * conditional update on a version field is atomic on MongoDB, but FerretDB 1.24's SQLite backend runs
 * the filter and the update apart, so two writers can both "win": measured 8 of 8 in a race. `$expr`
 * guards are refused by FerretDB altogether.) The head document (the current version) is moved forward
 * now and then, in the background; a reader walks the claims beyond it, so a head that lags, or a
 * writer that dies before moving it, loses nothing that was acknowledged. The sweeper's `prune` removes claims older than
 * CLAIM_RETENTION_MS once their head has caught up; a writer re-reads any version it cached longer ago
 * than MAX_CACHE_AGE_MS, so it never claims a version number whose claim was already pruned.
 */
export async function openMongoLedgerStore(url: string, dbName: string): Promise<LedgerStore> {
  const client = new MongoClient(url, { retryWrites: false, serverSelectionTimeoutMS: 10_000 });
  await client.connect();
  try {
    const db = client.db(dbName);
    const claims = db.collection<ClaimRow>(BUDGET_COLLECTIONS.claims);
    // Not a TTL index: a claim may only go once its head has caught up with it, which `prune` checks.
    await claims.createIndex({ at: 1 });
    return new MongoLedgerStore(client, db.collection<HeadRow>(BUDGET_COLLECTIONS.heads), claims, db.collection<OpenRow>(BUDGET_COLLECTIONS.open));
  } catch (err) {
    await client.close();
    throw err;
  }
}

class MongoLedgerStore implements LedgerStore {
  readonly kind = 'mongo' as const;
  readonly maxCacheAgeMs = MAX_CACHE_AGE_MS;
  private readonly headMoves = new Map<string, { next: { version: number; json: string } }>();
  private readonly moving = new Set<Promise<void>>();
  /** The newest version this process wrote or read per document (a hint: the claims are the truth). */
  private readonly seen = new Lru<string, number>(SEEN_ENTRIES);

  constructor(
    private readonly client: MongoClient,
    private readonly heads: Collection<HeadRow>,
    private readonly claims: Collection<ClaimRow>,
    private readonly open: Collection<OpenRow>,
  ) {}

  async get(key: string): Promise<StoredDoc | undefined> {
    const head = await this.heads.findOne({ _id: key });
    let current: StoredDoc | undefined = head ? { text: head.json, version: head.version } : undefined;
    // Start the walk from the newest version this process has seen, when the head is behind it.
    const seen = this.seen.get(key);
    if (seen !== undefined && seen > (current?.version ?? 0)) {
      const c = await this.claims.findOne({ _id: claimId(key, seen) });
      if (c) current = { text: c.json, version: c.version };
    }
    // Claims beyond it are the newer versions; a long walk moves the head for the next reader.
    for (let walked = 0; ; walked++) {
      const next = await this.claims.findOne({ _id: claimId(key, (current?.version ?? 0) + 1) });
      if (!next) {
        if (current && walked >= LONG_WALK) this.moveHead(key, current.version, current.text);
        return current;
      }
      this.noteSeen(key, next.version);
      current = { text: next.json, version: next.version };
    }
  }

  create(key: string, text: string): Promise<CasResult> {
    return this.write(key, text, 0);
  }

  update(key: string, text: string, expectedVersion: number): Promise<CasResult> {
    return this.write(key, text, expectedVersion);
  }

  private async write(key: string, text: string, from: number): Promise<CasResult> {
    const version = from + 1;
    const lost: CasResult = { ok: false, reason: from === 0 ? 'exists' : 'conflict' };
    try {
      await this.claims.insertOne({ _id: claimId(key, version), key, version, json: text, at: new Date() });
    } catch (err) {
      if (!isDuplicate(err)) throw err;
      return lost;
    }
    // The claim is the commit point: the write has happened. The head only spares readers a long walk
    // over the claims, so it is moved now and then, off the write path (an update costs far more than
    // an insert on FerretDB).
    this.noteSeen(key, version);
    if (version % HEAD_EVERY_VERSIONS === 0) this.moveHead(key, version, text);
    return { ok: true, version };
  }

  /** Moves a head forward in the background, one update per document at a time, to its newest version. */
  private noteSeen(key: string, version: number): void {
    if (version > (this.seen.get(key) ?? 0)) this.seen.set(key, version);
  }

  private moveHead(key: string, version: number, json: string): void {
    const queued = this.headMoves.get(key);
    if (queued) {
      if (version > queued.next.version) queued.next = { version, json };
      return;
    }
    const entry = { next: { version, json } };
    this.headMoves.set(key, entry);
    const run = async (): Promise<void> => {
      for (let done = 0; done < entry.next.version; ) {
        const target = entry.next;
        await this.advanceHead(key, target.version, target.json).catch(() => false);
        done = target.version;
      }
    };
    const p = run().finally(() => {
      this.headMoves.delete(key);
      this.moving.delete(p);
    });
    this.moving.add(p);
  }

  /** Moves the head to `version` unless it is there or beyond; true when the head now holds it. */
  private async advanceHead(key: string, version: number, json: string): Promise<boolean> {
    try {
      const r = await this.heads.updateOne({ _id: key, version: { $lt: version } }, { $set: { version, json } }, { upsert: true });
      return r.matchedCount + r.upsertedCount > 0;
    } catch (err) {
      // The upsert raced a head that is already at or beyond this version.
      if (isDuplicate(err)) return false;
      throw err;
    }
  }

  /**
   * Removes claims past their retention, in one pass: for each document, the head is first moved to its
   * newest old claim if it is behind, so that only claims the head has passed are deleted.
   */
  async prune(now: number): Promise<number> {
    const old = await this.claims.find({ at: { $lt: new Date(now - CLAIM_RETENTION_MS) } }, { projection: { _id: 1, key: 1, version: 1 } }).limit(PRUNE_BATCH).toArray();
    const newest = new Map<string, number>();
    for (const c of old) newest.set(c.key, Math.max(c.version, newest.get(c.key) ?? 0));
    for (const [key, version] of newest) {
      const head = await this.heads.findOne({ _id: key }, { projection: { version: 1 } });
      if (head && head.version >= version) continue;
      const claim = await this.claims.findOne({ _id: claimId(key, version) });
      if (claim) await this.advanceHead(key, claim.version, claim.json);
    }
    if (old.length > 0) await this.claims.deleteMany({ _id: { $in: old.map((c) => c._id) } });
    return old.length;
  }

  async markOpen(runId: string): Promise<void> {
    await this.open.updateOne({ _id: runId }, { $set: { at: new Date() } }, { upsert: true });
  }

  async clearOpen(runId: string): Promise<void> {
    await this.open.deleteOne({ _id: runId });
  }

  async openRuns(limit: number): Promise<string[]> {
    const rows = await this.open.find({}, { projection: { _id: 1 } }).limit(limit).toArray();
    return rows.map((r) => r._id);
  }

  async close(): Promise<void> {
    await Promise.all(this.moving);
    await this.client.close();
  }
}
