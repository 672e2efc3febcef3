import { VersionedCollection } from '@pipewright/kit';
import { MongoClient, type Collection } from 'mongodb';
import type { CasResult, LedgerStore, StoredDoc } from './types.js';

/** Collections of the MongoDB store. */
export const BUDGET_COLLECTIONS = { ledgers: 'budget_ledgers', open: 'budget_open' } as const;

/**
 * A replaced version's tombstone is kept this long, then the sweeper prunes it. A hot ledger (a
 * tenant's window) gets a version per write, so without pruning it would grow without bound. The one
 * timing assumption of pruning (see VersionedCollection.prune): no writer pauses between inserting a
 * version and cutting the one it replaced for longer than this, clock differences between replicas
 * included.
 */
export const TOMBSTONE_RETENTION_MS = 20_000;
const PRUNE_BATCH = 5_000;

/** The ledger key is the only queried field: `run.<id>`, `pipeline.<name>`, `tenant.<tenant>`. */
interface LedgerFields {
  key: string;
}

interface OpenRow {
  _id: string;
  at: Date;
}

export interface MongoLedgerOptions {
  /** Tests shorten it to make pruning race the writers. @default TOMBSTONE_RETENTION_MS */
  tombstoneRetentionMs?: number;
}

/**
 * The ledger on MongoDB (and FerretDB): kit's versioned documents, the compare-and-set the run store and
 * the approver use too. FerretDB applies a conditional update's filter and write apart
 * (bench/src/mongo-cas-probe.ts), so a write inserts the next version under a unique `_id` and cuts the
 * one it replaced down to a tombstone; the sweeper prunes tombstones (`prune`).
 */
export async function openMongoLedgerStore(url: string, dbName: string, opts: MongoLedgerOptions = {}): Promise<LedgerStore & { prune(now: number): Promise<number> }> {
  const client = new MongoClient(url, { retryWrites: false, serverSelectionTimeoutMS: 10_000 });
  await client.connect();
  try {
    const db = client.db(dbName);
    const ledgers = new VersionedCollection<LedgerFields>(db, BUDGET_COLLECTIONS.ledgers, { keyField: 'key' });
    // Not a TTL index: a key's version 1 must stay (it keeps a second create refused), and `prune` keeps it.
    await ledgers.ensureIndexes([{ key: { expireAt: 1 }, name: 'expire_at', sparse: true }]);
    return new MongoLedgerStore(client, ledgers, db.collection<OpenRow>(BUDGET_COLLECTIONS.open), opts.tombstoneRetentionMs ?? TOMBSTONE_RETENTION_MS);
  } catch (err) {
    await client.close();
    throw err;
  }
}

class MongoLedgerStore implements LedgerStore {
  readonly kind = 'mongo' as const;

  constructor(
    private readonly client: MongoClient,
    private readonly ledgers: VersionedCollection<LedgerFields>,
    private readonly open: Collection<OpenRow>,
    private readonly tombstoneRetentionMs: number,
  ) {}

  async get(key: string): Promise<StoredDoc | undefined> {
    const d = await this.ledgers.get(key);
    return d ? { text: d.json, version: d.version } : undefined;
  }

  create(key: string, text: string): Promise<CasResult> {
    return this.ledgers.create({ fields: { key }, json: text });
  }

  update(key: string, text: string, expectedVersion: number): Promise<CasResult> {
    return this.ledgers.update({ fields: { key }, json: text }, expectedVersion, new Date(Date.now() + this.tombstoneRetentionMs));
  }

  /** Removes tombstones past their retention (every replica's sweeper may run it; it is idempotent). */
  prune(now: number): Promise<number> {
    return this.ledgers.prune(new Date(now), PRUNE_BATCH);
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

  close(): Promise<void> {
    return this.client.close();
  }
}
