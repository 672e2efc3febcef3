import { describe, expect, it } from 'vitest';
import { sweepFinishedRuns } from '../../src/store/retention.js';
import type { Stores } from '../../src/store/types.js';
import type { Handles } from '../store-conformance.js';
import { finishedRun, iso, runState } from '../store-fixtures.js';

const DAY_MS = 86_400_000;

/** A run with a blob; returns the blob's reference. */
async function seed(s: Stores, state: ReturnType<typeof runState>) {
  expect((await s.runs.create(state)).ok).toBe(true);
  return s.blobs.put(state.runId, new TextEncoder().encode(JSON.stringify({ big: state.runId })));
}

async function present(s: Stores, runId: string) {
  return { run: (await s.runs.get(runId)) !== undefined };
}

// Every run here finished decades before the other suites' runs (2026), so the store's other runs
// are never past these cut-offs.
export function retentionConformance(get: () => Handles): void {
  describe('retention', () => {
    it('lists terminal runs finished before an instant, oldest first, with a limit', async () => {
      const { a, b } = get();
      const r1 = finishedRun('1990-01-03T00:00:00.000Z', { status: 'cancelled' });
      const r2 = finishedRun('1990-01-01T00:00:00.000Z', { status: 'failed' });
      const r3 = finishedRun('1990-01-02T00:00:00.000+02:00', { status: 'timed_out' });
      const late = finishedRun('1990-02-01T00:00:00.000Z');
      const live = runState({ createdAt: '1989-12-01T00:00:00.000Z', status: 'waiting_approval' });
      for (const s of [r1, r2, r3, late, live]) await a.runs.create(s);

      const before = new Date('1990-01-15T00:00:00Z');
      expect(await b.runs.listFinishedBefore(before, 10)).toEqual([r2.runId, r3.runId, r1.runId]);
      expect(await b.runs.listFinishedBefore(before, 2)).toEqual([r2.runId, r3.runId]);
      for (const s of [r1, r2, r3, late, live]) await a.runs.delete(s.runId);
      expect(await b.runs.listFinishedBefore(before, 10)).toEqual([]);
    });

    it('sweeps finished runs past retention with their blobs and events, and keeps the rest', async () => {
      const { a, b } = get();
      const now = new Date('2001-03-01T00:00:00Z');
      const old1 = finishedRun(iso(now.getTime() - 30 * DAY_MS));
      const old2 = finishedRun(iso(now.getTime() - 8 * DAY_MS), { status: 'budget_exhausted' });
      const recent = finishedRun(iso(now.getTime() - 6 * DAY_MS));
      const oldButLive = runState({ createdAt: iso(now.getTime() - 60 * DAY_MS), status: 'waiting_approval' });
      const refs = new Map<string, Awaited<ReturnType<typeof seed>>>();
      for (const s of [old1, old2, recent, oldButLive]) refs.set(s.runId, await seed(a, s));

      const purged: string[] = [];
      const result = await sweepFinishedRuns(b, { olderThanMs: 7 * DAY_MS, now, purgeEvents: (runId) => Promise.resolve(void purged.push(runId)) });
      expect(result).toEqual({ runs: 2, blobs: 2, more: false });
      expect(purged.sort()).toEqual([old1.runId, old2.runId].sort());
      for (const gone of [old1, old2]) {
        expect(await present(a, gone.runId)).toEqual({ run: false });
        expect(await a.blobs.get(refs.get(gone.runId)!)).toBeUndefined();
      }
      for (const kept of [recent, oldButLive]) {
        expect(await present(a, kept.runId)).toEqual({ run: true });
        expect(await a.blobs.get(refs.get(kept.runId)!)).toBeDefined();
      }
      // nothing left to do: a second sweep (another replica) removes nothing
      expect(await sweepFinishedRuns(a, { olderThanMs: 7 * DAY_MS, now })).toEqual({ runs: 0, blobs: 0, more: false });
      for (const s of [recent, oldButLive]) await a.runs.delete(s.runId);
    });

    it('stops at maxRuns and says that more are left', async () => {
      const { a } = get();
      const now = new Date('2002-06-01T00:00:00Z');
      const runs = [1, 2, 3].map((d) => finishedRun(iso(now.getTime() - (30 + d) * DAY_MS)));
      for (const s of runs) await a.runs.create(s);
      expect(await sweepFinishedRuns(a, { olderThanMs: DAY_MS, now, maxRuns: 2 })).toEqual({ runs: 2, blobs: 0, more: true });
      // oldest first: the newest of the three is the one left
      expect(await a.runs.listFinishedBefore(now, 10)).toEqual([runs[0]!.runId]);
      expect(await sweepFinishedRuns(a, { olderThanMs: DAY_MS, now, maxRuns: 2 })).toEqual({ runs: 1, blobs: 0, more: false });
    });
  });
}
