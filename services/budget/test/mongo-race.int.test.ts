import { ferretDbAvailable, Stack, startFerretDb } from '@pipewright/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerWriter, openMongoLedgerStore, type Codec, type LedgerOp, type LedgerStore } from '../src/index.js';
import { log, sleep } from './slow-store.js';

/**
 * The MongoDB ledger store on FerretDB with pruning racing the writers, as replicas' sweepers would:
 * replaced versions are kept only TOMBSTONE_RETENTION (shortened here), writers work from cached versions
 * that can be older than that, and two pruners delete concurrently. No acknowledged update may be lost
 * or applied twice, and no reader may ever see a version older than one it saw before.
 */
const WRITERS = 6;
const APPENDS = 12;
const TOMBSTONE_RETENTION_MS = 1_000;
const KEYS = ['tenant.race-a', 'tenant.race-b'];

interface Doc {
  items: string[];
}
const codec: Codec<Doc> = { decode: (v) => v as Doc };
const append =
  (token: string): LedgerOp<Doc, number> =>
  (doc) => {
    const next = { items: [...(doc?.items ?? []), token] };
    return { doc: next, result: next.items.length, changed: true };
  };

const stack = new Stack();
const available = ferretDbAvailable();
let url: string;
const open = async (): Promise<LedgerStore & { prune(now: number): Promise<number> }> => {
  const s = await openMongoLedgerStore(url, 'pw_budget_race', { tombstoneRetentionMs: TOMBSTONE_RETENTION_MS });
  stack.add('mongo client', () => s.close());
  return s;
};

beforeAll(async () => {
  if (!available) return;
  const ferret = await startFerretDb();
  stack.add('ferretdb', () => ferret.stop());
  url = ferret.url;
});
afterAll(() => stack.stopAll());

describe('MongoDB ledger store: writers and pruning racing on FerretDB', () => {
  it.skipIf(!available)(`loses no acknowledged write and never goes back: ${WRITERS} writers × ${APPENDS} appends on ${KEYS.length} documents, 2 pruners`, { timeout: 180_000 }, async () => {
    const stores = await Promise.all(Array.from({ length: WRITERS }, () => open()));
    const [pruneA, pruneB, watcher] = [await open(), await open(), await open()];
    const acked = new Set<string>();
    const failed: unknown[] = [];
    let done = false;
    let pruned = 0;
    const pruner = async (s: typeof pruneA) => {
      while (!done) {
        // Not `pruned += await …`: that reads `pruned` before the await, and the other pruner's count is lost.
        const n = await s.prune(Date.now());
        pruned += n;
        await sleep(20);
      }
    };
    // A reader that must never see a version, or a list of items, go backwards.
    const regressions: string[] = [];
    let reads = 0;
    const watch = async () => {
      const last = new Map<string, { version: number; items: number }>();
      while (!done) {
        for (const key of KEYS) {
          const d = await watcher.get(key);
          if (!d) continue;
          reads += 1;
          const items = (JSON.parse(d.text) as Doc).items.length;
          const before = last.get(key);
          if (before && (d.version < before.version || items < before.items)) regressions.push(`${key}: v${before.version}/${before.items} items, then v${d.version}/${items}`);
          last.set(key, { version: d.version, items });
        }
        await sleep(5);
      }
    };
    // Some writers go through the ledger writer (group commit, cached versions); the others read, then
    // stall (a slow network, a paused process) for up to twice the tombstones' retention before they write:
    // by then the versions after the one they read may have been pruned and their numbers be free again.
    const slowCas = async (store: LedgerStore, key: string, token: string) => {
      for (let attempt = 0; ; attempt++) {
        const current = await store.get(key);
        if (attempt < 3) await sleep(Math.random() * 2 * TOMBSTONE_RETENTION_MS);
        const next = JSON.stringify(append(token)(current ? (JSON.parse(current.text) as Doc) : undefined, Date.now()).doc);
        if ((current ? await store.update(key, next, current.version) : await store.create(key, next)).ok) return;
      }
    };
    const write = async (w: number) => {
      const writer = new LedgerWriter(stores[w]!, log, 20_000);
      for (let i = 0; i < APPENDS; i++) {
        const key = KEYS[(w + i) % KEYS.length]!;
        const token = `w${w}-${i}`;
        try {
          if (w % 2 === 0) await writer.run(key, codec, append(token));
          else await slowCas(stores[w]!, key, token);
          acked.add(`${key}/${token}`);
        } catch (err) {
          failed.push(err);
        }
        await sleep(Math.random() * TOMBSTONE_RETENTION_MS);
      }
    };
    const background = [pruner(pruneA), pruner(pruneB), watch()];
    try {
      await Promise.all(Array.from({ length: WRITERS }, (_, w) => write(w)));
    } finally {
      done = true;
      await Promise.all(background);
    }
    expect(failed).toEqual([]);
    expect(regressions).toEqual([]);
    expect(reads).toBeGreaterThan(10);
    // The pruners did work while the writers wrote (the race could have lost something).
    expect(pruned).toBeGreaterThan(WRITERS * APPENDS / 2);
    const fresh = await open();
    let total = 0;
    for (const key of KEYS) {
      const items = (JSON.parse((await fresh.get(key))!.text) as Doc).items;
      expect(new Set(items).size, `${key}: an update applied twice`).toBe(items.length);
      const missing = [...acked].filter((a) => a.startsWith(`${key}/`) && !items.includes(a.slice(key.length + 1)));
      expect(missing, `${key}: acknowledged updates lost`).toEqual([]);
      total += items.length;
    }
    expect(total).toBe(WRITERS * APPENDS);
  });
});
