import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { TerminalError } from '../src/errors.js';
import { MAX_MONGO_BLOB_BYTES } from '../src/store/mongo/blobs.js';
import { MAX_RUN_LIFETIME_MS } from '../src/store/mongo/expiry.js';
import { openMongoStores, type MongoStores, type MongoStoreOptions } from '../src/store/mongo/open.js';
import { iso, runState } from './store-fixtures.js';

const DAY_MS = 86_400_000;

/** What only the MongoDB store has: indexes, TTL detection, expiry fields, write concern. */
export function describeMongoSpecifics(url: () => string, server: { ttl: boolean }): void {
  describe('MongoDB store specifics', () => {
    const opened: MongoStores[] = [];
    const open = async (opts: MongoStoreOptions = {}, db = `pw_spec_${randomBytes(4).toString('hex')}`) => {
      const s = await openMongoStores(url(), db, opts);
      opened.push(s);
      return { s, db: s.client.db(db) };
    };
    afterAll(async () => {
      for (const s of opened) await s.close();
    });

    it('creates its indexes at start; opening the same database again is harmless', async () => {
      const { s, db } = await open();
      await openMongoStores(url(), db.databaseName).then((again) => again.close());
      const names = async (c: string) => (await db.collection(c).indexes()).map((i) => [i.name, i.unique === true]);
      expect(await names('runs')).toEqual(expect.arrayContaining([['status_created', false], ['pipeline_created', false], ['created', false], ['finished', false]]));
      expect(await names('blobs')).toEqual(expect.arrayContaining([['run', false]]));
      expect(s.retention).toBe(server.ttl ? 'ttl' : 'sweep');
      const ttl = (await db.collection('runs').indexes()).find((i) => i.name === 'expire_at');
      if (server.ttl) expect(ttl?.expireAfterSeconds).toBe(0);
      else expect(ttl).toBeUndefined();
    });

    it('creates no TTL index when told to sweep', async () => {
      const { s, db } = await open({ retention: 'sweep' });
      expect(s.retention).toBe('sweep');
      expect((await db.collection('blobs').indexes()).map((i) => i.name)).not.toContain('expire_at');
    });

    it('takes its write concern from the durability profile', async () => {
      const def = await open({ client: { monitorCommands: true } });
      const strict = await open({ durability: 'strict', client: { monitorCommands: true } });
      // what goes on the wire with each insert: `j: true` only for strict
      const sent: Record<string, unknown>[] = [];
      for (const h of [def, strict]) h.s.client.on('commandStarted', (e) => e.commandName === 'insert' && sent.push(e.command['writeConcern'] as Record<string, unknown>));
      expect(def.s.durability).toBe('default');
      expect(def.db.writeConcern).toMatchObject({ w: 'majority' });
      expect(def.db.writeConcern?.journal).toBeUndefined();
      expect(strict.db.writeConcern).toMatchObject({ w: 'majority', journal: true });
      // the server accepts journaled majority writes
      expect((await strict.s.runs.create(runState())).ok).toBe(true);
      expect((await def.s.runs.create(runState())).ok).toBe(true);
      expect(sent).toEqual([{ w: 'majority', j: true }, { w: 'majority' }]);
    });

    it('dates every document’s expiry, and a finished run brings its children’s forward to its own', async () => {
      const { s, db } = await open({ retentionMs: DAY_MS });
      const created = '2026-11-24T10:00:00.000Z';
      const state = runState({ createdAt: created });
      const w = await s.runs.create(state);
      if (!w.ok) throw new Error('create failed');
      const blobAt = Date.now();
      await s.blobs.put(state.runId, new Uint8Array([1, 2, 3]));
      const expiryOf = async (c: string, q: object) => ((await db.collection(c).findOne(q)) as { expireAt?: Date } | null)?.expireAt?.toISOString();
      expect(await expiryOf('runs', { _id: `${state.runId}:1` })).toBeUndefined();
      // a blob written while its run is live gets an upper bound: the longest a run may live, plus retention
      expect(Date.parse((await expiryOf('blobs', { runId: state.runId }))!)).toBeGreaterThanOrEqual(blobAt + MAX_RUN_LIFETIME_MS + DAY_MS - 1_000);

      const finishedAt = '2026-11-24T11:00:00.000Z';
      const done = { ...state, status: 'succeeded' as const, finishedAt, updatedAt: finishedAt };
      expect((await s.runs.update(done, w.version)).ok).toBe(true);
      const runExpiry = iso(Date.parse(finishedAt) + DAY_MS);
      expect(await expiryOf('runs', { _id: `${state.runId}:2` })).toBe(runExpiry);
      expect(await expiryOf('runs', { _id: `${state.runId}:1` })).toBe(runExpiry);
      expect(await expiryOf('blobs', { runId: state.runId })).toBe(runExpiry);

      // resumed: live again, so its blobs get a live run's bound back (not its first end's instant)
      const resumedAt = Date.now();
      const resumed = { ...done, status: 'running' as const, finishedAt: undefined, updatedAt: new Date(resumedAt).toISOString(), resumes: { count: 1, at: new Date(resumedAt).toISOString(), ids: ['r1'] } };
      expect((await s.runs.update(resumed, 2)).ok).toBe(true);
      expect(Date.parse((await expiryOf('blobs', { runId: state.runId }))!)).toBeGreaterThanOrEqual(resumedAt + MAX_RUN_LIFETIME_MS + DAY_MS - 1_000);
    });

    it('writes each version of a run as its own document and cuts older ones down to tombstones', async () => {
      const { s, db } = await open();
      const state = runState({ status: 'running' });
      await s.runs.create(state);
      const v2 = await s.runs.update({ ...state, dispatches: 1 }, 1);
      const v3 = await s.runs.update({ ...state, dispatches: 2 }, 2);
      expect([v2, v3]).toEqual([{ ok: true, version: 2 }, { ok: true, version: 3 }]);
      const docs = await db.collection('runs').find({ runId: state.runId }).sort({ version: 1 }).toArray();
      expect(docs.map((d): unknown[] => [d['_id'], d['superseded'] ?? false, typeof d['json']])).toEqual([
        [`${state.runId}:1`, true, 'undefined'],
        [`${state.runId}:2`, true, 'undefined'],
        [`${state.runId}:3`, false, 'string'],
      ]);
      // a tombstone keeps its version taken: a writer that read version 1 still conflicts
      expect(await s.runs.update({ ...state, dispatches: 9 }, 1)).toEqual({ ok: false, reason: 'conflict' });
      expect((await s.runs.get(state.runId))?.value.dispatches).toBe(2);
      expect((await s.runs.list({ pipeline: state.pipeline.name })).filter((r) => r.runId === state.runId)).toHaveLength(1);
    });

    it('refuses a blob larger than a document can hold, as a terminal error', async () => {
      const { s } = await open();
      const err = await s.blobs.put('big-run', new Uint8Array(MAX_MONGO_BLOB_BYTES + 1)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TerminalError);
      expect((err as TerminalError).code).toBe('blob-too-large');
      expect((await s.blobs.put('big-run', new Uint8Array(MAX_MONGO_BLOB_BYTES))).bytes).toBe(MAX_MONGO_BLOB_BYTES);
    });
  });
}
