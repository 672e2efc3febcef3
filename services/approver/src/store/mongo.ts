import { VersionedCollection, type NewVersion } from '@pipewright/kit';
import { MongoClient, MongoServerError, type Collection } from 'mongodb';
import { ApprovalRecord, AuditEntry, byTime } from './types.js';
import type { ApprovalFilter, ApprovalStore, ApproverStores, AuditStore, Versioned, WriteResult } from './types.js';

/** Collections of the MongoDB store. */
export const APPROVER_COLLECTIONS = { approvals: 'approvals', audit: 'approval_audit' } as const;

/**
 * The queried fields of an approval's version. Versions are kit's versioned documents (one document per
 * version, insert-only compare-and-set, `_id` = `<approvalId>:<version>`); the record itself is JSON
 * text, because tool argument schemas carry keys (`$schema`, `$ref`, dotted names) that MongoDB refuses
 * as field names.
 */
interface ApprovalFields {
  approvalId: string;
  status: string;
  /** ISO-8601 in UTC (`toISOString`), so string order is time order; null = no deadline. */
  deadlineAt: string | null;
  published: boolean;
  requestedAt: string;
}

interface AuditDoc {
  _id: string;
  approvalId: string;
  at: string;
  json: string;
}

const DUPLICATE_KEY = 11000;
const isDuplicate = (err: unknown) => err instanceof MongoServerError && err.code === DUPLICATE_KEY;
const CONFLICT: WriteResult = { ok: false, reason: 'conflict' };

/**
 * The production store. Approvals are versioned documents from the kit, the same compare-and-set the
 * run store uses: a conditional `updateOne` is not atomic on FerretDB, which the tests use in place of
 * MongoDB (bench/src/mongo-cas-probe.ts), while an insert under a unique `_id` is atomic everywhere.
 * Replaced versions stay as tombstones (an approval has a handful).
 */
export async function openMongoApproverStores(url: string, dbName: string): Promise<ApproverStores> {
  const client = new MongoClient(url, { retryWrites: false, serverSelectionTimeoutMS: 10_000 });
  await client.connect();
  try {
    const db = client.db(dbName);
    const approvals = new VersionedCollection<ApprovalFields>(db, APPROVER_COLLECTIONS.approvals, { keyField: 'approvalId' });
    const audit = db.collection<AuditDoc>(APPROVER_COLLECTIONS.audit);
    await approvals.ensureIndexes([
      { key: { status: 1, deadlineAt: 1 }, name: 'status_deadline' },
      { key: { requestedAt: -1 }, name: 'requested' },
    ]);
    await audit.createIndex({ approvalId: 1, at: 1 });
    return { kind: 'mongo', approvals: new MongoApprovalStore(approvals), audit: new MongoAuditStore(audit), close: () => client.close() };
  } catch (err) {
    await client.close();
    throw err;
  }
}

function toVersion(r: ApprovalRecord): NewVersion<ApprovalFields> {
  return {
    fields: {
      approvalId: r.approvalId,
      status: r.status,
      deadlineAt: r.deadlineAt === undefined ? null : new Date(r.deadlineAt).toISOString(),
      published: r.published,
      requestedAt: new Date(r.request.requestedAt).toISOString(),
    },
    json: JSON.stringify(r),
  };
}

const fromDoc = (d: { json: string; version: number }): Versioned<ApprovalRecord> => ({ value: ApprovalRecord.parse(JSON.parse(d.json)), version: d.version });

class MongoApprovalStore implements ApprovalStore {
  constructor(private readonly c: VersionedCollection<ApprovalFields>) {}

  async create(record: ApprovalRecord): Promise<'created' | 'exists'> {
    return (await this.c.create(toVersion(record))).ok ? 'created' : 'exists';
  }

  async get(approvalId: string): Promise<Versioned<ApprovalRecord> | undefined> {
    const d = await this.c.get(approvalId);
    return d ? fromDoc(d) : undefined;
  }

  async update(record: ApprovalRecord, expectedVersion: number): Promise<WriteResult> {
    const w = await this.c.update(toVersion(record), expectedVersion);
    return w.ok ? w : CONFLICT;
  }

  async list(filter: ApprovalFilter = {}): Promise<ApprovalRecord[]> {
    const statuses = filter.status ? [filter.status] : ['pending', 'decided'];
    const docs = await this.c.listNewest({ status: { $in: statuses } }, { sort: { requestedAt: -1 }, limit: filter.limit ?? 100 });
    return docs.map((d) => fromDoc(d).value);
  }

  async due(now: Date, limit: number): Promise<Versioned<ApprovalRecord>[]> {
    const at = now.toISOString();
    const docs = await this.c.listNewest({ $or: [{ status: 'pending', deadlineAt: { $ne: null, $lte: at } }, { status: 'decided', published: false }] }, { limit });
    return docs.map(fromDoc);
  }
}

class MongoAuditStore implements AuditStore {
  constructor(private readonly c: Collection<AuditDoc>) {}

  async append(entry: AuditEntry): Promise<void> {
    try {
      await this.c.insertOne({ _id: `${entry.approvalId}|${entry.entryId}`, approvalId: entry.approvalId, at: entry.at, json: JSON.stringify(entry) });
    } catch (err) {
      if (!isDuplicate(err)) throw err; // already stored: an append retried after a lost reply
    }
  }

  async list(approvalId: string): Promise<AuditEntry[]> {
    const docs = await this.c.find({ approvalId }).sort({ at: 1 }).toArray();
    return docs.map((d) => AuditEntry.parse(JSON.parse(d.json))).sort(byTime);
  }
}
