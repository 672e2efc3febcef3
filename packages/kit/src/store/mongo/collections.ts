import type { Binary, Collection, Db, Document, IndexDescription } from 'mongodb';
import type { RetentionMode } from '../types.js';
import { isNamespaceNotFound, isNotSupported } from './errors.js';

/**
 * The collections and their indexes. Values are stored as JSON text (`json`) beside the fields
 * that are queried: step outputs and run inputs are arbitrary JSON whose keys may start with `$` or
 * contain `.`, which BSON field names on MongoDB-compatible servers refuse, and text keeps numbers and
 * key order exactly as written.
 */

/**
 * One document per version of a run, `_id` = `<runId>:<version>`. A new version is an insert, so the
 * unique `_id` is the compare-and-set: of two writers of the same version one gets a duplicate key.
 * (FerretDB 1.24 applies a conditional update as read-then-write, so `updateOne({_id, version})` loses
 * updates under contention; an insert under a unique key is atomic on every server.) Once a newer
 * version exists the older one is cut down to a tombstone (`superseded`), which keeps its key taken.
 */
export interface RunDoc {
  _id: string;
  runId: string;
  /** 1 on create, +1 per update. */
  version: number;
  /** On tombstones: a newer version exists; every field below except `expireAt` is gone. */
  superseded?: true;
  status?: string;
  pipeline?: string;
  tenant?: string;
  createdAt?: string;
  updatedAt?: string;
  /** `createdAt` as a date, so that listing sorts instants rather than strings. */
  createdTs?: Date;
  /** Set once the run is in a terminal status: what retention looks at. */
  finishedTs?: Date;
  expireAt?: Date;
  json?: string;
}

export interface StepDoc {
  /** `<runId>:<stepId>` */
  _id: string;
  runId: string;
  stepId: string;
  json: string;
  expireAt: Date;
}

export interface DecisionDoc {
  runId: string;
  seq: number;
  json: string;
  expireAt: Date;
}

/** An intent or a receipt of one tool call: `_id` = `<runId>:<stepId>:<callId>:intent|receipt`. */
export interface ToolCallDoc {
  _id: string;
  runId: string;
  kind: 'intent' | 'receipt';
  json: string;
  expireAt: Date;
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
  runs: Collection<RunDoc>;
  steps: Collection<StepDoc>;
  decisions: Collection<DecisionDoc>;
  toolCalls: Collection<ToolCallDoc>;
  blobs: Collection<BlobDoc>;
}

export const COLLECTION_NAMES = { runs: 'runs', steps: 'steps', decisions: 'decisions', toolCalls: 'tool_calls', blobs: 'blobs' } as const;

const INDEXES: { [K in keyof Collections]: IndexDescription[] } = {
  runs: [
    { key: { runId: 1, version: -1 }, name: 'run_version', unique: true },
    { key: { status: 1, createdTs: -1 }, name: 'status_created' },
    { key: { pipeline: 1, createdTs: -1 }, name: 'pipeline_created' },
    { key: { createdTs: -1 }, name: 'created' },
    { key: { finishedTs: 1 }, name: 'finished', sparse: true },
  ],
  // The unique keys are what make a step checkpoint first-write-wins and a decision append idempotent.
  steps: [{ key: { runId: 1, stepId: 1 }, name: 'run_step', unique: true }],
  decisions: [{ key: { runId: 1, seq: 1 }, name: 'run_seq', unique: true }],
  // First write wins by the unique `_id`; this index is for removing a run's calls.
  toolCalls: [{ key: { runId: 1 }, name: 'run' }],
  blobs: [{ key: { runId: 1 }, name: 'run' }],
};

const TTL_INDEX: IndexDescription = { key: { expireAt: 1 }, name: 'expire_at', expireAfterSeconds: 0 };

export function collections(db: Db): Collections {
  return {
    runs: db.collection<RunDoc>(COLLECTION_NAMES.runs),
    steps: db.collection<StepDoc>(COLLECTION_NAMES.steps),
    decisions: db.collection<DecisionDoc>(COLLECTION_NAMES.decisions),
    toolCalls: db.collection<ToolCallDoc>(COLLECTION_NAMES.toolCalls),
    blobs: db.collection<BlobDoc>(COLLECTION_NAMES.blobs),
  };
}

/**
 * Creates the indexes (idempotent) and, unless `sweep` is asked for, a TTL index on `expireAt` in every
 * collection. A server without TTL indexes (FerretDB answers NotImplemented) gets `sweep`: a service
 * then runs the retention sweeper.
 */
export async function ensureIndexes(c: Collections, want: 'auto' | 'sweep'): Promise<RetentionMode> {
  await Promise.all([createMissing(c.runs, INDEXES.runs), createMissing(c.steps, INDEXES.steps), createMissing(c.decisions, INDEXES.decisions), createMissing(c.toolCalls, INDEXES.toolCalls), createMissing(c.blobs, INDEXES.blobs)]);
  if (want === 'sweep') return 'sweep';
  try {
    await createMissing(c.runs, [TTL_INDEX]);
  } catch (err) {
    if (isNotSupported(err)) return 'sweep';
    throw err;
  }
  await Promise.all([createMissing(c.steps, [TTL_INDEX]), createMissing(c.decisions, [TTL_INDEX]), createMissing(c.toolCalls, [TTL_INDEX]), createMissing(c.blobs, [TTL_INDEX])]);
  return 'ttl';
}

/**
 * Creates the indexes a collection lacks, one per command: FerretDB 1.24 drops the connection when a
 * single createIndexes command names two or more indexes that already exist (a restart would fail).
 */
async function createMissing<T extends Document>(coll: Collection<T>, wanted: IndexDescription[]): Promise<void> {
  const existing = new Set(await listIndexNames(coll));
  for (const idx of wanted) if (idx.name !== undefined && !existing.has(idx.name)) await coll.createIndexes([idx]);
}

/** Names of a collection's indexes; none when the collection does not exist yet. */
async function listIndexNames<T extends Document>(coll: Collection<T>): Promise<string[]> {
  try {
    return (await coll.listIndexes().toArray()).map((i: { name?: unknown }) => String(i.name));
  } catch (err) {
    if (isNamespaceNotFound(err)) return [];
    throw err;
  }
}
