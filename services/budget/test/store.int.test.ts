import { connect, type NatsConnection } from '@nats-io/transport-node';
import { binDir, ferretDbAvailable, Stack, startFerretDb, startNatsServer } from '@pipewright/devstack';
import { createLogger } from '@pipewright/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoClient } from 'mongodb';
import { BUDGET_COLLECTIONS, holdOp, LedgerWriter, openKvLedgerStore, openMongoLedgerStore, TOMBSTONE_RETENTION_MS, windowCodec, windowUsage, type LedgerStore, type WindowRef } from '../src/index.js';

/**
 * One conformance suite for both ledger stores, against real servers: compare-and-set semantics, the
 * sweeper's marks, and the writer's guarantee that concurrent writers (as two replicas would be) neither
 * lose an update nor pass a limit.
 */
const log = createLogger('budget-test', 'silent');
const stack = new Stack();
afterAll(() => stack.stopAll());

const mongoAvailable = ferretDbAvailable();
if (!mongoAvailable) console.warn(`MongoDB ledger store tests skipped: no ferretdb in ${binDir()} (run scripts/ensure-servers.sh ferretdb)`);

interface Fixture {
  open(): Promise<LedgerStore>;
  /** The MongoDB URL, for looking under the store's hood. */
  mongoUrl?: string;
}

const fixtures: [string, boolean, () => Promise<Fixture>][] = [
  [
    'NATS KV',
    true,
    async () => {
      const nats = await startNatsServer();
      const conns: NatsConnection[] = [];
      stack.add('nats-server', () => nats.stop());
      stack.add('nats clients', async () => void (await Promise.all(conns.map((c) => c.close()))));
      return {
        async open() {
          const nc = await connect({ servers: nats.url });
          conns.push(nc);
          return openKvLedgerStore(nc);
        },
      };
    },
  ],
  [
    'MongoDB (FerretDB)',
    mongoAvailable,
    async () => {
      const ferret = await startFerretDb();
      stack.add('ferretdb', () => ferret.stop());
      return {
        mongoUrl: ferret.url,
        async open() {
          const s = await openMongoLedgerStore(ferret.url, 'pw_budget_test');
          stack.add('mongo client', () => s.close());
          return s;
        },
      };
    },
  ],
];

describe.each(fixtures)('ledger store: %s', (_name, available, setup) => {
  let f: Fixture;
  let a: LedgerStore;
  let b: LedgerStore;
  beforeAll(async () => {
    if (!available) return;
    f = await setup();
    [a, b] = [await f.open(), await f.open()];
  });

  it.skipIf(!available)('creates once and updates only the version it read', async () => {
    expect(await a.get('run.cas')).toBeUndefined();
    const created = await a.create('run.cas', '{"n":1}');
    expect(created.ok).toBe(true);
    expect(await b.create('run.cas', '{"n":2}')).toEqual({ ok: false, reason: 'exists' });
    const v1 = (await b.get('run.cas'))!;
    expect(v1.text).toBe('{"n":1}');
    const u = await a.update('run.cas', '{"n":3}', v1.version);
    expect(u.ok).toBe(true);
    expect(await b.update('run.cas', '{"n":4}', v1.version)).toEqual({ ok: false, reason: 'conflict' });
    const v2 = (await b.get('run.cas'))!;
    expect(v2).toEqual({ text: '{"n":3}', version: u.ok ? u.version : -1 });
  });

  it.skipIf(!available)('lets exactly one of many racing writers replace a version (FerretDB alone would let several)', async () => {
    const stores = await Promise.all(Array.from({ length: 6 }, () => f.open()));
    for (let round = 0; round < 20; round++) {
      const key = `run.race-${round}`;
      const created = await stores[0]!.create(key, '{"w":-1}');
      if (!created.ok) throw new Error('create failed');
      const results = await Promise.all(stores.map((st, i) => st.update(key, JSON.stringify({ w: i }), created.version)));
      const winners = results.flatMap((r, i) => (r.ok ? [i] : []));
      expect(winners, `round ${round}`).toHaveLength(1);
      expect(await stores[1]!.get(key)).toEqual({ text: JSON.stringify({ w: winners[0] }), version: (results[winners[0]!] as { version: number }).version });
    }
  });

  it.skipIf(!available)('keeps the sweeper marks idempotently', async () => {
    await a.markOpen('r1');
    await b.markOpen('r1');
    await a.markOpen('r2');
    expect((await b.openRuns(100)).sort()).toEqual(['r1', 'r2']);
    expect(await b.openRuns(1)).toHaveLength(1);
    await a.clearOpen('r1');
    await a.clearOpen('r1');
    expect(await b.openRuns(100)).toEqual(['r2']);
  });

  it.skipIf(!available)('lets two writers hold against one limit concurrently without passing it', async () => {
    const wa = new LedgerWriter(a, log);
    const wb = new LedgerWriter(b, log);
    const ref: WindowRef = { scope: 'tenant', id: 'contended', windowHours: 24, limit: { maxTokens: 1_000, windowHours: 24 } };
    const expiresAt = Date.now() + 60_000;
    // 300 holds of 7 tokens from two writers at once: exactly floor(1000 / 7) = 142 fit
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => (i % 2 ? wa : wb).run('tenant.contended', windowCodec, holdOp(ref, `h${i}`, { nano: 0, tokens: 7 }, expiresAt))));
    expect(results.filter((r) => r.kind === 'held')).toHaveLength(142);
    expect(results.filter((r) => r.kind === 'denied')).toHaveLength(158);
    const doc = await wa.read('tenant.contended', windowCodec);
    expect(windowUsage(doc!, Date.now(), 24).reserved.tokens).toBe(994);
    expect(wa.stats.conflicts + wb.stats.conflicts).toBeGreaterThan(0);
  });
});

describe('ledger store: MongoDB versions and pruning', () => {
  let f: Fixture;
  let a: LedgerStore;
  let b: LedgerStore;
  beforeAll(async () => {
    if (!mongoAvailable) return;
    f = await fixtures[1]![2]();
    [a, b] = [await f.open(), await f.open()];
  });

  it.skipIf(!mongoAvailable)('prunes replaced versions past their retention, and refuses a writer whose base was read before the prune', async () => {
    let v = (await a.create('tenant.walk', JSON.stringify({ v: 1 }))) as { ok: true; version: number };
    for (let i = 2; i <= 5; i++) v = (await a.update('tenant.walk', JSON.stringify({ v: i }), v.version)) as { ok: true; version: number };
    expect(await b.get('tenant.walk')).toEqual({ text: JSON.stringify({ v: 5 }), version: 5 });
    // Every tombstone is past its retention: versions 2-4 go; version 1 stays (it keeps a second create refused).
    expect(await b.prune!(Date.now() + 2 * TOMBSTONE_RETENTION_MS)).toBe(3);
    const raw = new MongoClient(f.mongoUrl!, { retryWrites: false });
    stack.add('raw mongo client', () => raw.close());
    const versions = raw.db('pw_budget_test').collection(BUDGET_COLLECTIONS.ledgers);
    const ids = async () => (await versions.find({ key: 'tenant.walk' }).toArray()).map((d) => String(d._id)).sort();
    expect(await ids()).toEqual(['tenant.walk:1', 'tenant.walk:5']);
    // Writers that read versions 4 and 3 before the prune: 5 is taken; 4's number is free again, but 3 is gone.
    expect(await b.update('tenant.walk', '{"v":"stale"}', 4)).toEqual({ ok: false, reason: 'conflict' });
    expect(await a.update('tenant.walk', '{"v":"staler"}', 3)).toEqual({ ok: false, reason: 'conflict' });
    expect(await b.create('tenant.walk', '{"v":"again"}')).toEqual({ ok: false, reason: 'exists' });
    expect(await ids()).toEqual(['tenant.walk:1', 'tenant.walk:5']);
    expect(await a.get('tenant.walk')).toEqual({ text: JSON.stringify({ v: 5 }), version: 5 });
    expect(await a.update('tenant.walk', JSON.stringify({ v: 6 }), 5)).toEqual({ ok: true, version: 6 });
    expect(await b.get('tenant.walk')).toEqual({ text: JSON.stringify({ v: 6 }), version: 6 });
  });
});
