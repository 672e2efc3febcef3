import { MongoClient, MongoServerError, type Collection, type Filter } from 'mongodb';
import { ApprovalRecord, AuditEntry, byTime } from './types.js';
import type { ApprovalFilter, ApprovalStore, ApproverStores, AuditStore, Versioned, WriteResult } from './types.js';

/** Collections of the MongoDB store. */
export const APPROVER_COLLECTIONS = { approvals: 'approval_versions', audit: 'approval_audit' } as const;

/**
 * One document per version of an approval (`_id` = `<approvalId>#<version>`). The queried fields are
 * top-level; the record itself is JSON text, because tool argument schemas carry keys (`$schema`,
 * `$ref`, dotted names) that MongoDB refuses as field names.
 */
interface VersionDoc {
  _id: string;
  approvalId: string;
  version: number;
  status: string;
  /** ISO-8601 in UTC (`toISOString`), so string order is time order; null = no deadline. */
  deadlineAt: string | null;
  published: boolean;
  requestedAt: string;
  json: string;
}

interface AuditDoc {
  _id: string;
  approvalId: string;
  at: string;
  json: string;
}

const DUPLICATE_KEY = 11000;
const isDuplicate = (err: unknown) => err instanceof MongoServerError && err.code === DUPLICATE_KEY;
/** Status of a version once a later one exists: no query for approvals matches it. */
const SUPERSEDED = 'superseded';
const versionId = (approvalId: string, version: number) => `${approvalId}#${version}`;

/**
 * The production store. Compare-and-set is an insert of the next version under a unique `_id`: of two
 * writers that read version v, only one can insert v+1. That is atomic on MongoDB and on FerretDB
 * alike, whereas a conditional update (`updateOne({version: v})`) is not atomic on FerretDB's SQLite
 * backend (measured: concurrent updates from one version both succeed). Versions are kept (an
 * approval has a handful) and marked superseded; queries keep only the newest version they see.
 */
export async function openMongoApproverStores(url: string, dbName: string): Promise<ApproverStores> {
  const client = new MongoClient(url, { retryWrites: false, serverSelectionTimeoutMS: 10_000 });
  await client.connect();
  try {
    const db = client.db(dbName);
    const versions = db.collection<VersionDoc>(APPROVER_COLLECTIONS.approvals);
    const audit = db.collection<AuditDoc>(APPROVER_COLLECTIONS.audit);
    await versions.createIndex({ approvalId: 1, version: -1 });
    await versions.createIndex({ status: 1, deadlineAt: 1 });
    await versions.createIndex({ requestedAt: -1 });
    await audit.createIndex({ approvalId: 1, at: 1 });
    return { kind: 'mongo', approvals: new MongoApprovalStore(versions), audit: new MongoAuditStore(audit), close: () => client.close() };
  } catch (err) {
    await client.close();
    throw err;
  }
}

function toDoc(r: ApprovalRecord, version: number): VersionDoc {
  return {
    _id: versionId(r.approvalId, version),
    approvalId: r.approvalId,
    version,
    status: r.status,
    deadlineAt: r.deadlineAt === undefined ? null : new Date(r.deadlineAt).toISOString(),
    published: r.published,
    requestedAt: new Date(r.request.requestedAt).toISOString(),
    json: JSON.stringify(r),
  };
}

const fromDoc = (d: VersionDoc): Versioned<ApprovalRecord> => ({ value: ApprovalRecord.parse(JSON.parse(d.json)), version: d.version });

class MongoApprovalStore implements ApprovalStore {
  constructor(private readonly c: Collection<VersionDoc>) {}

  async create(record: ApprovalRecord): Promise<'created' | 'exists'> {
    try {
      await this.c.insertOne(toDoc(record, 1));
      return 'created';
    } catch (err) {
      if (isDuplicate(err)) return 'exists';
      throw err;
    }
  }

  async get(approvalId: string): Promise<Versioned<ApprovalRecord> | undefined> {
    const d = await this.c.findOne({ approvalId }, { sort: { version: -1 } });
    return d ? fromDoc(d) : undefined;
  }

  async update(record: ApprovalRecord, expectedVersion: number): Promise<WriteResult> {
    const version = expectedVersion + 1;
    try {
      await this.c.insertOne(toDoc(record, version));
    } catch (err) {
      if (isDuplicate(err)) return { ok: false, reason: 'conflict' };
      throw err;
    }
    // Older versions stay: deleting one would free its _id for a writer that read the version before
    // it, whose stale insert would then succeed. They are marked so that no query matches them (best
    // effort: a read that still sees one keeps only the newest version anyway).
    await this.c.updateMany({ approvalId: record.approvalId, version: { $lt: version } }, { $set: { status: SUPERSEDED, deadlineAt: null, published: true } }).catch(() => undefined);
    return { ok: true, version };
  }

  async list(filter: ApprovalFilter = {}): Promise<ApprovalRecord[]> {
    const limit = filter.limit ?? 100;
    const statuses = filter.status ? [filter.status] : ['pending', 'decided'];
    const docs = await this.c
      .find({ status: { $in: statuses } })
      .sort({ requestedAt: -1 })
      .limit(limit * 2)
      .toArray();
    return (await this.newestOnly(docs, (d) => statuses.includes(d.status))).slice(0, limit).map((d) => fromDoc(d).value);
  }

  async due(now: Date, limit: number): Promise<Versioned<ApprovalRecord>[]> {
    const at = now.toISOString();
    const query: Filter<VersionDoc> = { $or: [{ status: 'pending', deadlineAt: { $ne: null, $lte: at } }, { status: 'decided', published: false }] };
    const docs = await this.c.find(query).limit(limit * 2).toArray();
    const isDue = (d: VersionDoc) => (d.status === 'pending' && d.deadlineAt !== null && d.deadlineAt <= at) || (d.status === 'decided' && !d.published);
    return (await this.newestOnly(docs, isDue)).slice(0, limit).map(fromDoc);
  }

  /**
   * Each approval the query found, as its newest version, if that version still matches `keep`. A
   * version written between the query and this read replaces the one the query saw (it is not just
   * dropped), so an approval being updated never vanishes from a list.
   */
  private async newestOnly(docs: VersionDoc[], keep: (d: VersionDoc) => boolean): Promise<VersionDoc[]> {
    if (docs.length === 0) return docs;
    const ids = [...new Set(docs.map((d) => d.approvalId))];
    const newest = new Map<string, VersionDoc>();
    for (const v of await this.c.find({ approvalId: { $in: ids } }).toArray()) {
      const seen = newest.get(v.approvalId);
      if (!seen || v.version > seen.version) newest.set(v.approvalId, v);
    }
    return ids.flatMap((id) => {
      const d = newest.get(id);
      return d && keep(d) ? [d] : [];
    });
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
