import { MongoClient, type MongoClientOptions } from 'mongodb';
import type { DurabilityProfile, RetentionMode, Stores } from '../types.js';
import { MongoBlobStore } from './blobs.js';
import { collections, ensureIndexes } from './collections.js';
import { MongoDecisionStore } from './decisions.js';
import { Expiry } from './expiry.js';
import { MongoRunStore } from './runs.js';
import { MongoStepStore } from './steps.js';
import { MongoToolCallStore } from './tool-calls.js';
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
 * Opens the MongoDB store: connects, creates the indexes, and finds out whether the server expires
 * documents itself. Only single-document atomic operations are used, so it runs on MongoDB and on
 * MongoDB-compatible servers (FerretDB) alike.
 */
export async function openMongoStores(url: string, dbName: string, opts: MongoStoreOptions = {}): Promise<MongoStores> {
  const durability = opts.durability ?? 'default';
  const client = new MongoClient(url, { ...opts.client, writeConcern: writeConcernFor(durability) });
  await client.connect();
  try {
    const c = collections(client.db(dbName));
    const retention = await ensureIndexes(c, opts.retention ?? 'auto');
    const expiry = new Expiry(opts.retentionMs ?? DEFAULT_RETENTION_MS);
    return {
      kind: 'mongo',
      runs: new MongoRunStore(c, expiry),
      steps: new MongoStepStore(c, expiry),
      decisions: new MongoDecisionStore(c, expiry),
      toolCalls: new MongoToolCallStore(c, expiry),
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
