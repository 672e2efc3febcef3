import { Binary } from 'mongodb';
import type { ClaimRef } from '@pipewright/contracts';
import { TerminalError } from '../../errors.js';
import { blobKey, blobRef, DEFAULT_BLOB_CONTENT_TYPE, verifyBlob } from '../blob-ref.js';
import type { BlobStore } from '../types.js';
import type { Collections } from './collections.js';
import { isDuplicateKey } from './errors.js';
import type { Expiry } from './expiry.js';

/** The bucket named in this store's claim references (`pw-blob://blobs/…`): the collection. */
export const MONGO_BLOB_BUCKET = 'blobs';
/**
 * One document per blob: a single insert is atomic, so a crash leaves no half-written blob. MongoDB
 * caps a document at 16 MiB; the rest of the document needs far less than the 256 KiB kept aside.
 */
export const MAX_MONGO_BLOB_BYTES = 16 * 1024 * 1024 - 256 * 1024;

export class MongoBlobStore implements BlobStore {
  constructor(
    private readonly c: Collections,
    private readonly expiry: Expiry,
  ) {}

  async put(runId: string, data: Uint8Array, contentType = DEFAULT_BLOB_CONTENT_TYPE): Promise<ClaimRef> {
    if (data.byteLength > MAX_MONGO_BLOB_BYTES) {
      throw new TerminalError(`blob of ${data.byteLength} bytes for run ${runId} exceeds the MongoDB store's ${MAX_MONGO_BLOB_BYTES}`, 'blob-too-large');
    }
    const ref = blobRef(MONGO_BLOB_BUCKET, runId, data, contentType);
    const { key } = blobKey(MONGO_BLOB_BUCKET, ref);
    try {
      await this.c.blobs.insertOne({ _id: key, runId, data: new Binary(data), bytes: data.byteLength, sha256: ref.sha256, contentType, expireAt: this.expiry.ofChild(new Date()) });
    } catch (err) {
      // Content-addressed: a blob with this key already holds these bytes.
      if (!isDuplicateKey(err)) throw err;
    }
    return ref;
  }

  async get(ref: ClaimRef): Promise<Uint8Array | undefined> {
    const { key } = blobKey(MONGO_BLOB_BUCKET, ref);
    const doc = await this.c.blobs.findOne({ _id: key }, { projection: { data: 1 } });
    return doc ? verifyBlob(ref, doc.data.buffer) : undefined;
  }

  async deleteRun(runId: string): Promise<number> {
    return (await this.c.blobs.deleteMany({ runId })).deletedCount;
  }
}
