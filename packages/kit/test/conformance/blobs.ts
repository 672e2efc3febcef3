import { createHash } from 'node:crypto';
import { isClaimRef, parseClaimUrl } from '@pipewright/contracts';
import { describe, expect, it } from 'vitest';
import { BlobIntegrityError } from '../../src/store/blob-ref.js';
import { checkIn, resolveClaim } from '../../src/store/claim-check.js';
import type { Handles } from '../store-conformance.js';
import { uid } from '../store-fixtures.js';

const bytes = (s: string) => new TextEncoder().encode(s);

export function blobConformance(get: () => Handles): void {
  describe('blobs (claim check)', () => {
    it('stores bytes under a content-addressed reference and reads them back on another handle', async () => {
      const { a, b } = get();
      const runId = uid();
      const data = bytes('{"answer":42}');
      const ref = await a.blobs.put(runId, data);
      const sha256 = createHash('sha256').update(data).digest('hex');
      expect(ref).toMatchObject({ bytes: data.byteLength, sha256 });
      expect(isClaimRef(ref)).toBe(true);
      expect(parseClaimUrl(ref.$ref)).toMatchObject({ runId, sha256 });
      expect(await b.blobs.get(ref)).toEqual(data);
    });

    it('writes the same bytes once however often they are put', async () => {
      const { a, b } = get();
      const runId = uid();
      const data = bytes('same');
      const refs = await Promise.all([a.blobs.put(runId, data), b.blobs.put(runId, data), a.blobs.put(runId, data)]);
      expect(new Set(refs.map((r) => r.$ref)).size).toBe(1);
      await a.blobs.put(runId, bytes('other'));
      expect(await b.blobs.deleteRun(runId)).toBe(2);
    });

    it('round-trips a 5 MB blob (larger than any message)', async () => {
      const { a, b } = get();
      const data = new Uint8Array(5 * 1024 * 1024).map((_, i) => (i * 31) % 251);
      const ref = await a.blobs.put(uid(), data, 'application/octet-stream');
      expect(ref.contentType).toBe('application/octet-stream');
      const back = await b.blobs.get(ref);
      expect(back?.byteLength).toBe(data.byteLength);
      expect(Buffer.from(back!).equals(Buffer.from(data))).toBe(true);
    });

    it('removes a run’s blobs and no other run’s; a removed blob reads as undefined', async () => {
      const { a, b } = get();
      const runId = uid();
      const mine = await a.blobs.put(runId, bytes('mine'));
      const theirs = await a.blobs.put(`${runId}-x`, bytes('theirs'));
      expect(await b.blobs.deleteRun(runId)).toBe(1);
      expect(await a.blobs.get(mine)).toBeUndefined();
      expect(await a.blobs.get(theirs)).toEqual(bytes('theirs'));
      expect(await a.blobs.deleteRun(runId)).toBe(0);
    });

    it('refuses bytes that do not match their reference', async () => {
      const { a } = get();
      const ref = await a.blobs.put(uid(), bytes('checked'));
      await expect(a.blobs.get({ ...ref, bytes: ref.bytes + 1 })).rejects.toBeInstanceOf(BlobIntegrityError);
    });

    it('claim-checks a large value and resolves it; a small one travels inline', async () => {
      const { a, b } = get();
      const runId = uid();
      const small = { text: 'short' };
      const large = { text: 'x'.repeat(10_000), items: Array.from({ length: 100 }, (_, i) => ({ i })) };
      expect(await checkIn(small, { runId, blobs: a.blobs, thresholdBytes: 1_024 })).toEqual(small);
      const ref = await checkIn(large, { runId, blobs: a.blobs, thresholdBytes: 1_024 });
      expect(isClaimRef(ref)).toBe(true);
      expect(JSON.stringify(ref).length).toBeLessThan(300);
      expect(await resolveClaim(ref, b.blobs)).toEqual(large);
      expect(await resolveClaim(small, b.blobs)).toEqual(small);
      await b.blobs.deleteRun(runId);
      await expect(resolveClaim(ref, a.blobs)).rejects.toThrow(/is gone/);
    });
  });
}
