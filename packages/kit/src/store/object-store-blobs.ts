import type { NatsConnection } from '@nats-io/transport-node';
import { Objm, type ObjectStore } from '@nats-io/obj';
import type { ClaimRef } from '@pipewright/contracts';
import { blobKey, blobRef, verifyBlob } from './blob-ref.js';
import type { BlobStore } from './types.js';

/** The NATS Object Store bucket of claim-checked values (stream `OBJ_pw_blobs`). */
export const OBJECT_STORE_BLOB_BUCKET = 'pw_blobs';

/** Claim-check blobs in a NATS Object Store: chunked, so a blob may be larger than a message. */
export async function openObjectStoreBlobs(nc: NatsConnection, opts: { replicas?: number } = {}): Promise<BlobStore> {
  const os = await new Objm(nc).create(OBJECT_STORE_BLOB_BUCKET, { replicas: opts.replicas ?? 1 });
  return new ObjectStoreBlobs(os);
}

class ObjectStoreBlobs implements BlobStore {
  constructor(private readonly os: ObjectStore) {}

  async put(runId: string, data: Uint8Array, contentType?: string): Promise<ClaimRef> {
    const ref = blobRef(OBJECT_STORE_BLOB_BUCKET, runId, data, contentType);
    const { key } = blobKey(OBJECT_STORE_BLOB_BUCKET, ref);
    // Content-addressed: an object under this name already holds these bytes. Two racing writers of
    // the same name both write the same bytes; the later replaces the earlier, which is harmless.
    const existing = await this.os.info(key);
    if (existing && !existing.deleted && existing.size === data.byteLength) return ref;
    await this.os.putBlob({ name: key, metadata: { runId } }, data);
    return ref;
  }

  async get(ref: ClaimRef): Promise<Uint8Array | undefined> {
    const { key } = blobKey(OBJECT_STORE_BLOB_BUCKET, ref);
    const data = await this.os.getBlob(key);
    return data === null ? undefined : verifyBlob(ref, data);
  }

  /** Lists the whole bucket: fine at the embedded store's scale. */
  async deleteRun(runId: string): Promise<number> {
    const prefix = `${runId}/`;
    const mine = (await this.os.list()).filter((o) => !o.deleted && o.name.startsWith(prefix));
    for (const o of mine) await this.os.delete(o.name);
    return mine.length;
  }
}
