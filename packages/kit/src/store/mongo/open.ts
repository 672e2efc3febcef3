import { MongoClient, type MongoClientOptions } from 'mongodb';
import type { DurabilityProfile, RetentionMode, Stores } from '../types.js';
import { MongoBlobStore } from './blobs.js';
import { collections, ensureIndexes } from './collections.js';
import { Expiry } from './expiry.js';
import { MongoRunStore } from './runs.js';
import { writeConcernFor } from './write-concern.js';

/** The default retention when none is given: a week. */
const DEFAULT_RETENTION_MS = 7 * 86_400_000;

export interface MongoStoreOptions {
  /** @default 'default' */
  durability?: DurabilityProfile;
  /** How long finished runs are kept (what `expireAt` is computed from). @default 7 days */
  retentionMs?: number;
  /**
   * `auto`: TTL indexes where the server has them, else the sweeper. `sweep`: never create TTL
   * indexes (a service's sweeper removes finished runs). @default 'auto'
   */
  retention?: 'auto' | 'sweep';
  /** Extra driver options (pool size, timeouts, TLS); the write concern comes from `durability`. */
  client?: MongoClientOptions;
}

export interface MongoStores extends Stores {
  readonly kind: 'mongo';
  readonly retention: RetentionMode;
  /** The driver client, for health checks; closed by `close()`. */
  readonly client: MongoClient;
}

/**
 * A connected driver client whose writes are acknowledged as `durability` says (see write-concern.ts);
 * `client` adds driver options (pool size, timeouts, TLS).
 */
export async function connectMongo(url: string, durability: DurabilityProfile = 'default', client: MongoClientOptions = {}): Promise<MongoClient> {
  const c = new MongoClient(url, { ...client, writeConcern: writeConcernFor(durability) });
  await c.connect();
  return c;
}

/**
 * Opens the MongoDB store: connects, creates the indexes, and finds out whether the server expires
 * documents itself. Only single-document atomic operations are used, so it runs on MongoDB and on
 * MongoDB-compatible servers (FerretDB) alike.
 */
export async function openMongoStores(url: string, dbName: string, opts: MongoStoreOptions = {}): Promise<MongoStores> {
  const durability = opts.durability ?? 'default';
  const client = await connectMongo(url, durability, opts.client);
  try {
    const c = collections(client.db(dbName));
    const retention = await ensureIndexes(c, opts.retention ?? 'auto');
    const expiry = new Expiry(opts.retentionMs ?? DEFAULT_RETENTION_MS);
    return {
      kind: 'mongo',
      runs: new MongoRunStore(c, expiry),
      blobs: new MongoBlobStore(c, expiry),
      durability,
      retention,
      client,
      close: () => client.close(),
    };
  } catch (err) {
    await client.close();
    throw err;
  }
}
