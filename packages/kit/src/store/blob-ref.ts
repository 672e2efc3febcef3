import { createHash } from 'node:crypto';
import { claimUrl, parseClaimUrl, type ClaimRef } from '@pipewright/contracts';

/** What blobs hold unless the writer says otherwise: claim-checked values are JSON. */
export const DEFAULT_BLOB_CONTENT_TYPE = 'application/json';

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * The reference to `data` stored for `runId` in `bucket`. Content-addressed: the same bytes always get
 * the same reference, so two replicas checkpointing the same output write one blob.
 */
export function blobRef(bucket: string, runId: string, data: Uint8Array, contentType = DEFAULT_BLOB_CONTENT_TYPE): ClaimRef {
  const sha256 = sha256Hex(data);
  return { $ref: claimUrl(bucket, runId, sha256), bytes: data.byteLength, sha256, ...(contentType === DEFAULT_BLOB_CONTENT_TYPE ? {} : { contentType }) };
}

/** The blob's key inside its bucket (`<runId>/<sha256>`); throws for a reference to another bucket. */
export function blobKey(bucket: string, ref: ClaimRef): { runId: string; key: string } {
  const parts = parseClaimUrl(ref.$ref);
  if (!parts) throw new TypeError(`not a claim reference: ${ref.$ref}`);
  if (parts.bucket !== bucket) throw new TypeError(`claim reference ${ref.$ref} names bucket "${parts.bucket}", this store is "${bucket}"`);
  return { runId: parts.runId, key: `${parts.runId}/${parts.sha256}` };
}

/** Stored bytes that do not match their reference are corruption (or a foreign write), never data. */
export class BlobIntegrityError extends Error {
  override readonly name = 'BlobIntegrityError';
}

export function verifyBlob(ref: ClaimRef, data: Uint8Array): Uint8Array {
  const actual = sha256Hex(data);
  if (actual !== ref.sha256 || data.byteLength !== ref.bytes) {
    throw new BlobIntegrityError(`blob ${ref.$ref}: stored ${data.byteLength} bytes with sha256 ${actual}, expected ${ref.bytes} bytes with ${ref.sha256}`);
  }
  // Drivers hand back Buffers; callers get a plain view of the same bytes from every store.
  return Object.getPrototypeOf(data) === Uint8Array.prototype ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
