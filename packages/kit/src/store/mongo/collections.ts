import type { Binary, Collection, Db, IndexDescription } from 'mongodb';
import type { RetentionMode } from '../types.js';
import { isNotSupported } from './errors.js';
import { createMissingIndexes } from './indexes.js';
import { VersionedCollection } from './versioned.js';

/**
 * The collections and their indexes. Values are stored as JSON text (`json`) beside the fields
 * that are queried: step outputs and run inputs are arbitrary JSON whose keys may start with `$` or
 * contain `.`, which BSON field names on MongoDB-compatible servers refuse, and text keeps numbers and
 * key order exactly as written.
 */

/**
 * The queried fields of a run's version (versioned.ts keeps each version as its own document, `_id` =
 * `<runId>:<version>`, and cuts replaced ones down to tombstones; the state itself is `json`).
 */
export interface RunFields {
  runId: string;
  status: string;
  pipeline: string;
  tenant: string;
  createdAt: string;
  updatedAt: string;
  /** `createdAt` as a date, so that listing sorts instants rather than strings. */
  createdTs: Date;
  /** Set once the run is in a terminal status: what retention looks at. */
  finishedTs?: Date;
}

export interface BlobDoc {
  /** `<runId>/<sha256>` */
  _id: string;
  runId: string;
  data: Binary;
  bytes: number;
  sha256: string;
  contentType?: string;
  expireAt: Date;
}

export interface Collections {
  runs: VersionedCollection<RunFields>;
  blobs: Collection<BlobDoc>;
}

export const COLLECTION_NAMES = { runs: 'runs', blobs: 'blobs' } as const;

const INDEXES: { [K in keyof Collections]: IndexDescription[] } = {
  // (runId, version), which reads use, comes with the versioned collection.
  runs: [
    { key: { status: 1, createdTs: -1 }, name: 'status_created' },
    { key: { pipeline: 1, createdTs: -1 }, name: 'pipeline_created' },
    { key: { createdTs: -1 }, name: 'created' },
    { key: { finishedTs: 1 }, name: 'finished', sparse: true },
  ],
  blobs: [{ key: { runId: 1 }, name: 'run' }],
};

const TTL_INDEX: IndexDescription = { key: { expireAt: 1 }, name: 'expire_at', expireAfterSeconds: 0 };

export function collections(db: Db): Collections {
  return {
    runs: new VersionedCollection<RunFields>(db, COLLECTION_NAMES.runs, { keyField: 'runId', indexName: 'run_version' }),
    blobs: db.collection<BlobDoc>(COLLECTION_NAMES.blobs),
  };
}

/**
 * Creates the indexes (idempotent) and, unless `sweep` is asked for, a TTL index on `expireAt` in every
 * collection. A server without TTL indexes (FerretDB answers NotImplemented) gets `sweep`: a service
 * then runs the retention sweeper.
 */
export async function ensureIndexes(c: Collections, want: 'auto' | 'sweep'): Promise<RetentionMode> {
  await Promise.all([c.runs.ensureIndexes(INDEXES.runs), createMissingIndexes(c.blobs, INDEXES.blobs)]);
  if (want === 'sweep') return 'sweep';
  try {
    await c.runs.ensureIndexes([TTL_INDEX]);
  } catch (err) {
    if (isNotSupported(err)) return 'sweep';
    throw err;
  }
  await createMissingIndexes(c.blobs, [TTL_INDEX]);
  return 'ttl';
}
