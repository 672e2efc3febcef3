import { describe, expect, it } from 'vitest';
import type { Handles } from '../store-conformance.js';
import { runState, uid } from '../store-fixtures.js';

export function listingConformance(get: () => Handles): void {
  describe('runs: listing by status and pipeline', () => {
    it('lists a pipeline’s runs newest first (by instant, whatever the zone offset), with a limit', async () => {
      const { a, b } = get();
      const pipeline = uid('pipe');
      // r2's string sorts first but its instant is the oldest: 12:30+05:00 is 07:30Z
      const runs = [
        runState({ runId: uid('r1'), pipeline, createdAt: '2026-11-24T08:00:00.000Z', status: 'succeeded', finishedAt: '2026-11-24T08:05:00.000Z' }),
        runState({ runId: uid('r2'), pipeline, createdAt: '2026-11-24T12:30:00.000+05:00', status: 'running' }),
        runState({ runId: uid('r3'), pipeline, createdAt: '2026-11-24T09:00:00.000Z', status: 'running' }),
        runState({ runId: uid('r4'), pipeline, createdAt: '2026-11-24T10:00:00.000Z', status: 'failed', finishedAt: '2026-11-24T10:01:00.000Z' }),
        runState({ runId: uid('r5'), pipeline: uid('other'), createdAt: '2026-11-24T11:00:00.000Z', status: 'running' }),
      ];
      for (const s of runs) expect((await a.runs.create(s)).ok).toBe(true);
      const [r1, r2, r3, r4] = runs.map((r) => r.runId);

      expect((await b.runs.list({ pipeline })).map((r) => r.runId)).toEqual([r4, r3, r1, r2]);
      expect((await b.runs.list({ pipeline, limit: 2 })).map((r) => r.runId)).toEqual([r4, r3]);
      expect((await b.runs.list({ pipeline, status: 'running' })).map((r) => r.runId)).toEqual([r3, r2]);
      const summary = (await b.runs.list({ pipeline, status: 'failed' }))[0];
      expect(summary).toEqual({ runId: r4, status: 'failed', pipeline, tenant: 'acme', createdAt: '2026-11-24T10:00:00.000Z', updatedAt: '2026-11-24T10:01:00.000Z' });
    });

    it('lists by status alone across pipelines, and follows status changes', async () => {
      const { a, b } = get();
      // `paused` is used by no other conformance test, so this test owns that listing
      const older = runState({ pipeline: uid('p'), status: 'paused', createdAt: '2026-11-20T00:00:00.000Z' });
      const newer = runState({ pipeline: uid('p'), status: 'paused', createdAt: '2026-11-21T00:00:00.000Z' });
      await a.runs.create(older);
      const w = await a.runs.create(newer);
      expect((await b.runs.list({ status: 'paused' })).map((r) => r.runId)).toEqual([newer.runId, older.runId]);

      if (!w.ok) throw new Error('create failed');
      expect((await b.runs.update({ ...newer, status: 'running' }, w.version)).ok).toBe(true);
      expect((await b.runs.list({ status: 'paused' })).map((r) => r.runId)).toEqual([older.runId]);
      expect((await b.runs.list({ pipeline: newer.pipeline.name })).map((r) => r.status)).toEqual(['running']);
      await a.runs.delete(older.runId);
      expect(await b.runs.list({ status: 'paused' })).toEqual([]);
    });

    it('lists at most 100 runs unless told otherwise', async () => {
      const { a, b } = get();
      const pipeline = uid('many');
      await Promise.all(Array.from({ length: 105 }, (_, i) => a.runs.create(runState({ pipeline, createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString() }))));
      const listed = await b.runs.list({ pipeline });
      expect(listed).toHaveLength(100);
      expect(listed[0]!.createdAt).toBe('2026-01-01T00:01:44.000Z');
      expect(await b.runs.list({ pipeline, limit: 105 })).toHaveLength(105);
    });
  });
}
