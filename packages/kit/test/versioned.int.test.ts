import { randomBytes } from 'node:crypto';
import { ferretDbAvailable, startFerretDb, type FerretHandle } from '@pipewright/devstack';
import type { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMongo, VersionedCollection, type WriteResult } from '../src/index.js';

/**
 * The shared versioned documents (insert-only compare-and-set) on FerretDB 1.24 with SQLite, as the
 * store suites use it: a server that does not apply a conditional update atomically
 * (bench/src/mongo-cas-probe.ts), so whatever holds here holds by the unique `_id` alone.
 */
if (!ferretDbAvailable()) throw new Error('no ferretdb binary: run scripts/ensure-servers.sh ferretdb');

const WRITERS = 24;
const ROUNDS = 30;
/**
 * Full-jitter backoff after a conflict, doubling from BACKOFF_BASE_MS up to this cap: a read on
 * FerretDB scans the collection (20-40 ms at 700 versions) and 24 writers want the next version, so
 * retrying sooner mostly buys more conflicts.
 */
const BACKOFF_BASE_MS = 80;
const BACKOFF_CAP_MS = 2_000;
/** The race gives up (and fails) past this, rather than run into the test timeout. */
const RACE_DEADLINE_MS = 240_000;

interface Counter {
  key: string;
  tag: string;
}
interface Value {
  n: number;
}

let ferret: FerretHandle | undefined;
const clients: MongoClient[] = [];
const db = `pw_versioned_${randomBytes(4).toString('hex')}`;
const open = async (collection: string) => {
  if (!ferret) throw new Error('FerretDB did not start');
  const client = await connectMongo(ferret.url);
  clients.push(client);
  return { coll: new VersionedCollection<Counter>(client.db(db), collection, { keyField: 'key' }), raw: client.db(db).collection(collection) };
};
beforeAll(async () => {
  ferret = await startFerretDb();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await ferret?.stop();
});

const version = (key: string, n: number, tag = 'x') => ({ fields: { key, tag }, json: JSON.stringify({ n }) });
const ok = (r: WriteResult): number => {
  if (!r.ok) throw new Error(`expected a write, got ${r.reason}`);
  return r.version;
};

describe('versioned documents (insert-only compare-and-set) on FerretDB', () => {
  it('creates once, updates only the newest live version, and keeps replaced versions as tombstones', async () => {
    const { coll, raw } = await open('basics');
    await coll.ensureIndexes();
    expect(await coll.create(version('k', 0))).toEqual({ ok: true, version: 1 });
    expect(await coll.create(version('k', 9))).toEqual({ ok: false, reason: 'exists' });
    expect(await coll.update(version('k', 1), 1)).toEqual({ ok: true, version: 2 });
    expect(await coll.update(version('k', 2), 2)).toEqual({ ok: true, version: 3 });
    // stale writers, and one from a version never written: conflicts that leave nothing behind
    for (const from of [1, 2, 7]) expect(await coll.update(version('k', -1), from)).toEqual({ ok: false, reason: 'conflict' });
    expect(await coll.get('k')).toMatchObject({ key: 'k', version: 3, json: JSON.stringify({ n: 2 }) });
    expect(await coll.get('nothing')).toBeUndefined();
    const docs = await raw.find({ key: 'k' }).sort({ version: 1 }).toArray();
    expect(docs.map((d): unknown[] => [d._id, d['superseded'] ?? false, d['tag'] ?? null, typeof d['json']])).toEqual([
      ['k:1', true, null, 'undefined'],
      ['k:2', true, null, 'undefined'],
      ['k:3', false, 'x', 'string'],
    ]);
    await coll.delete('k');
    expect(await coll.create(version('k', 0))).toEqual({ ok: true, version: 1 });
  });

  it('lists each key once, as its newest version, and leaves out a key whose newest no longer matches', async () => {
    const { coll, raw } = await open('listing');
    for (const key of ['a', 'b', 'c']) ok(await coll.create(version(key, 0, 'open')));
    // `b` stands between a writer's insert and its cut: two live versions, the newer one listed
    await raw.insertOne({ _id: 'b:2' as never, key: 'b', tag: 'open', version: 2, json: JSON.stringify({ n: 1 }) });
    ok(await coll.update(version('c', 1, 'closed'), 1));
    const listed = await coll.listNewest({ tag: 'open' }, { sort: { key: 1 }, limit: 10 });
    expect(listed.map((d) => [d.key, d.version, d.json])).toEqual([
      ['a', 1, JSON.stringify({ n: 0 })],
      ['b', 2, JSON.stringify({ n: 1 })],
    ]);
    const summaries = await coll.listNewest({}, { sort: { key: -1 }, limit: 2, withJson: false });
    expect(summaries.map((d) => [d.key, d.version, 'json' in d])).toEqual([
      ['c', 2, false],
      ['b', 2, false],
    ]);
  });

  it('prunes expired tombstones but version 1, and a writer whose base was pruned still conflicts', async () => {
    const { coll, raw } = await open('pruning');
    let v = ok(await coll.create(version('p', 1)));
    const expired = new Date(Date.now() - 1_000);
    for (let n = 2; n <= 5; n++) v = ok(await coll.update(version('p', n), v, expired));
    expect(await coll.prune(new Date(), 100)).toBe(3);
    expect((await raw.find({ key: 'p' }).sort({ version: 1 }).toArray()).map((d) => d._id)).toEqual(['p:1', 'p:5']);
    // bases read before the prune: 4's successor is live, 3's number is free again but 3 is gone, 1 is a tombstone
    for (const from of [4, 3, 1]) expect(await coll.update(version('p', -1), from), `from ${from}`).toEqual({ ok: false, reason: 'conflict' });
    expect(await coll.create(version('p', -1))).toEqual({ ok: false, reason: 'exists' });
    expect((await raw.find({ key: 'p' }).toArray()).map((d) => d._id).sort()).toEqual(['p:1', 'p:5']);
    expect(await coll.get('p')).toMatchObject({ version: 5, json: JSON.stringify({ n: 5 }) });
    expect(await coll.update(version('p', 6), 5)).toEqual({ ok: true, version: 6 });
  });

  it(`loses no update: ${WRITERS} writers x ${ROUNDS} rounds of read-modify-write on one key`, { timeout: RACE_DEADLINE_MS + 30_000 }, async () => {
    const writers = await Promise.all(Array.from({ length: WRITERS }, () => open('race')));
    ok(await writers[0]!.coll.create(version('hot', 0)));
    const bases: number[] = [];
    let conflicts = 0;
    const deadline = Date.now() + RACE_DEADLINE_MS;
    const write = async ({ coll }: (typeof writers)[number]) => {
      for (let round = 0; round < ROUNDS; round++) {
        for (let attempt = 0; ; attempt++) {
          if (Date.now() > deadline) throw new Error(`race still running after ${RACE_DEADLINE_MS} ms`);
          const current = await coll.get('hot');
          if (!current) throw new Error('the key vanished');
          const next = (JSON.parse(current.json) as Value).n + 1;
          const r = await coll.update(version('hot', next), current.version);
          if (r.ok) {
            bases.push(current.version);
            break;
          }
          conflicts += 1;
          await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt)));
        }
      }
    };
    await Promise.all(writers.map(write));
    const end = await writers[1]!.coll.get('hot');
    expect(bases).toHaveLength(WRITERS * ROUNDS);
    expect(new Set(bases).size, 'two acknowledged writes from one version').toBe(WRITERS * ROUNDS);
    expect(JSON.parse(end!.json)).toEqual({ n: WRITERS * ROUNDS });
    expect(end!.version).toBe(WRITERS * ROUNDS + 1);
    expect(conflicts).toBeGreaterThan(0);
  });
});
