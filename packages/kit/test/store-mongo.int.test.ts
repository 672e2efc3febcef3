import { randomBytes } from 'node:crypto';
import { ferretDbAvailable, startFerretDb, type FerretHandle } from '@pipewright/devstack';
import { afterAll, beforeAll, describe } from 'vitest';
import { openMongoStores, type MongoStoreOptions } from '../src/store/mongo/open.js';
import type { Stores } from '../src/store/types.js';
import { describeMongoSpecifics } from './mongo-specifics.js';
import { describeStoreConformance } from './store-conformance.js';

// The MongoDB store against FerretDB 1.24 (always) and against a real MongoDB when MONGODB_URL is set.
const REAL_MONGODB_URL = process.env['MONGODB_URL'] || undefined;
if (!REAL_MONGODB_URL) console.warn('MongoDB store suites against a real MongoDB skipped: MONGODB_URL is not set (FerretDB suites still run)');
if (!ferretDbAvailable()) throw new Error('no ferretdb binary: run scripts/ensure-servers.sh ferretdb (the MongoDB store is tested against it)');

let ferret: FerretHandle | undefined;
beforeAll(async () => {
  ferret = await startFerretDb();
});
afterAll(async () => {
  await ferret?.stop();
});

/** A database of its own per suite, so suites never see each other's runs. */
const freshDb = () => `pw_test_${randomBytes(4).toString('hex')}`;

function opener(url: () => string, db: string, opts: MongoStoreOptions = {}): () => Promise<Stores> {
  return () => openMongoStores(url(), db, opts);
}

const ferretUrl = () => {
  if (!ferret) throw new Error('FerretDB did not start');
  return ferret.url;
};

describe('FerretDB 1.24', () => {
  describeStoreConformance('MongoDB store on FerretDB', opener(ferretUrl, freshDb()));
  describeMongoSpecifics(ferretUrl, { ttl: false });
});

describe.skipIf(!REAL_MONGODB_URL)('real MongoDB (MONGODB_URL)', () => {
  const url = () => REAL_MONGODB_URL ?? '';
  const db = freshDb();
  describeStoreConformance('MongoDB store on MongoDB', opener(url, db), async () => {
    const s = await openMongoStores(url(), db);
    await s.client.db(db).dropDatabase();
    await s.close();
  });
  describeMongoSpecifics(url, { ttl: true });
});
