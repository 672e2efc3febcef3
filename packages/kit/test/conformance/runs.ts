import { describe, expect, it } from 'vitest';
import type { RunStore } from '../../src/store/types.js';
import type { Handles } from '../store-conformance.js';
import { runState, uid } from '../store-fixtures.js';

/** Increments `dispatches` by compare-and-set until it wins; returns the attempts it took. */
async function casIncrement(runs: RunStore, runId: string): Promise<number> {
  for (let attempt = 1; attempt <= 1_000; attempt++) {
    const cur = await runs.get(runId);
    if (!cur) throw new Error(`run ${runId} vanished`);
    const w = await runs.update({ ...cur.value, dispatches: cur.value.dispatches + 1 }, cur.version);
    if (w.ok) return attempt;
    expect(w.reason).toBe('conflict');
  }
  throw new Error('no compare-and-set win in 1000 attempts');
}

export function runConformance(get: () => Handles): void {
  describe('runs: create, get, compare-and-set', () => {
    it('creates a run once; creating the same id again is "exists" and keeps the first', async () => {
      const { a, b } = get();
      const s = runState();
      const first = await a.runs.create(s);
      expect(first.ok).toBe(true);
      expect(await b.runs.create({ ...s, tenant: 'other' })).toEqual({ ok: false, reason: 'exists' });
      const got = await b.runs.get(s.runId);
      expect(got?.value).toEqual(s);
      expect(first.ok && got?.version).toBe(first.ok ? first.version : -1);
    });

    it('returns undefined for a run that was never written', async () => {
      expect(await get().a.runs.get(uid('missing'))).toBeUndefined();
    });

    it('accepts an update at the current version, gives a new version, and rejects the stale one', async () => {
      const { a, b } = get();
      const s = runState();
      const created = await a.runs.create(s);
      if (!created.ok) throw new Error('create failed');
      const next = { ...s, status: 'waiting_approval' as const, dispatches: 1 };
      const u1 = await b.runs.update(next, created.version);
      expect(u1.ok).toBe(true);
      if (!u1.ok) return;
      expect(u1.version).not.toBe(created.version);
      // a replica that still holds the first version loses, and the winner's state stays
      expect(await a.runs.update({ ...s, status: 'failed' }, created.version)).toEqual({ ok: false, reason: 'conflict' });
      expect(await a.runs.get(s.runId)).toEqual({ value: next, version: u1.version });
      const u2 = await a.runs.update({ ...next, dispatches: 2 }, u1.version);
      expect(u2.ok).toBe(true);
    });

    it('rejects an update of a run that does not exist', async () => {
      const s = runState();
      expect(await get().a.runs.update(s, 1)).toEqual({ ok: false, reason: 'conflict' });
      expect(await get().a.runs.get(s.runId)).toBeUndefined();
    });

    it('loses no increment when 24 compare-and-set loops on two handles race on one run', async () => {
      const { a, b } = get();
      const s = runState();
      expect((await a.runs.create(s)).ok).toBe(true);
      const N = 24;
      const attempts = await Promise.all(Array.from({ length: N }, (_, i) => casIncrement(i % 2 === 0 ? a.runs : b.runs, s.runId)));
      expect((await a.runs.get(s.runId))?.value.dispatches).toBe(N);
      expect(attempts.reduce((x, y) => x + y, 0)).toBeGreaterThanOrEqual(N);
    });

    it('deletes a run; deleting it again is harmless', async () => {
      const { a, b } = get();
      const s = runState();
      await a.runs.create(s);
      await b.runs.delete(s.runId);
      expect(await a.runs.get(s.runId)).toBeUndefined();
      await a.runs.delete(s.runId);
      expect((await a.runs.create(s)).ok).toBe(true);
    });

    it('keeps arbitrary JSON exactly: keys with "$" and ".", empty keys, unicode, big numbers', async () => {
      const { a, b } = get();
      const input = { $where: 'x', 'a.b': { $gt: 1 }, '': [null, true, -0.5], text: 'Zürich — 東京 😀', big: 12_345_678_901_234, nested: { deep: [{ x: 1e-7 }] } };
      const s = runState({ input });
      await a.runs.create(s);
      expect((await b.runs.get(s.runId))?.value.input).toEqual(input);
    });

    it('stores large documents: a 700 KB run state', async () => {
      const { a, b } = get();
      // below NATS's default 1 MiB max_payload, which bounds a KV value; larger outputs are claim-checked
      const blob = 'lorem ipsum '.repeat(60_000);
      const s = runState({ input: { blob } });
      expect((await a.runs.create(s)).ok).toBe(true);
      expect((await b.runs.get(s.runId))?.value.input['blob']).toBe(blob);
    });
  });
}
