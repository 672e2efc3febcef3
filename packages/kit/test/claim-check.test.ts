import { createHash } from 'node:crypto';
import { ClaimRef, claimUrl, isClaimRef, parseClaimUrl } from '@pipewright/contracts';
import { describe, expect, it } from 'vitest';
import { blobKey, blobRef, BlobIntegrityError, verifyBlob } from '../src/store/blob-ref.js';
import { DEFAULT_CLAIM_THRESHOLD_BYTES, externalize } from '../src/store/claim-check.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('externalize', () => {
  it('keeps a value inline up to the threshold, by the byte length of its JSON', () => {
    const value = { t: 'é'.repeat(10) }; // 18 characters, 28 bytes: é is 2 bytes in UTF-8
    expect(JSON.stringify(value)).toHaveLength(18);
    expect(externalize(value, { thresholdBytes: 28 })).toMatchObject({ kind: 'inline', value });
    const x = externalize(value, { thresholdBytes: 27 });
    expect(x.kind).toBe('blob');
    if (x.kind !== 'blob') return;
    expect(new TextDecoder().decode(x.data)).toBe(JSON.stringify(value));
    expect(x.sha256).toBe(sha(JSON.stringify(value)));
  });

  it('is deterministic and has a sensible default threshold', () => {
    const big = { s: 'x'.repeat(DEFAULT_CLAIM_THRESHOLD_BYTES) };
    expect(externalize(big, { thresholdBytes: DEFAULT_CLAIM_THRESHOLD_BYTES })).toEqual(externalize(big, { thresholdBytes: DEFAULT_CLAIM_THRESHOLD_BYTES }));
    expect(externalize(undefined, { thresholdBytes: 0 }).kind).toBe('blob');
    expect(externalize('short', { thresholdBytes: DEFAULT_CLAIM_THRESHOLD_BYTES }).kind).toBe('inline');
  });
});

describe('ClaimRef', () => {
  const data = new TextEncoder().encode('{"a":1}');

  it('is what blobRef makes: bucket, run and digest in the URL', () => {
    const ref = blobRef('pw_blobs', 'run-1', data);
    expect(ClaimRef.parse(ref)).toEqual({ $ref: `pw-blob://pw_blobs/run-1/${sha('{"a":1}')}`, bytes: 7, sha256: sha('{"a":1}') });
    expect(parseClaimUrl(ref.$ref)).toEqual({ bucket: 'pw_blobs', runId: 'run-1', sha256: sha('{"a":1}') });
    expect(blobKey('pw_blobs', ref)).toEqual({ runId: 'run-1', key: `run-1/${sha('{"a":1}')}` });
    expect(blobRef('b', 'r', data, 'text/plain').contentType).toBe('text/plain');
  });

  it('rejects look-alikes: other schemes, bad digests, extra fields, run ids with dots', () => {
    const ok = { $ref: claimUrl('b', 'r', sha('x')), bytes: 1, sha256: sha('x') };
    expect(isClaimRef(ok)).toBe(true);
    expect(isClaimRef({ ...ok, $ref: ok.$ref.replace('pw-blob', 'http') })).toBe(false);
    expect(isClaimRef({ ...ok, sha256: 'abc' })).toBe(false);
    expect(isClaimRef({ ...ok, extra: 1 })).toBe(false);
    expect(isClaimRef({ ...ok, $ref: claimUrl('b', 'r.x', sha('x')) })).toBe(false);
    expect(isClaimRef({ $ref: 'not a ref' })).toBe(false);
    expect(isClaimRef('pw-blob://b/r/0')).toBe(false);
  });

  it('names its bucket, so a store refuses another store’s reference', () => {
    expect(() => blobKey('blobs', blobRef('pw_blobs', 'r', data))).toThrow(/names bucket "pw_blobs"/);
  });

  it('verifies size and digest of the bytes read back', () => {
    const ref = blobRef('b', 'r', data);
    expect(verifyBlob(ref, data)).toBe(data);
    expect(() => verifyBlob(ref, new TextEncoder().encode('{"a":2}'))).toThrow(BlobIntegrityError);
  });
});
