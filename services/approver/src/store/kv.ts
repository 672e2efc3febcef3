import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { ApprovalRecord, AuditEntry, byTime, isDue, isOpen } from './types.js';
import type { ApprovalFilter, ApprovalStore, ApproverStores, AuditStore, Versioned, WriteResult } from './types.js';

/** KV buckets of the approver's embedded store. */
export const APPROVER_BUCKETS = {
  approvals: 'pw_approvals',
  /** Ids of open approvals (pending, or decided and unpublished): what listing and the sweeper scan. */
  open: 'pw_approvals_open',
  audit: 'pw_approval_audit',
} as const;

/**
 * The embedded store: NATS KV on the same JetStream that carries the messages. The KV revision is the
 * version for compare-and-set. Decided approvals pile up in the main bucket, so the sweeper and the
 * pending list read a small index of open ones instead of scanning everything.
 */
export async function openKvApproverStores(nc: NatsConnection, opts: { replicas?: number } = {}): Promise<ApproverStores> {
  const kvm = new Kvm(nc);
  const open = (name: string) => kvm.create(name, { history: 1, replicas: opts.replicas ?? 1 });
  const [approvals, index, audit] = await Promise.all([open(APPROVER_BUCKETS.approvals), open(APPROVER_BUCKETS.open), open(APPROVER_BUCKETS.audit)]);
  return { kind: 'kv', approvals: new KvApprovalStore(approvals, index), audit: new KvAuditStore(audit), close: () => Promise.resolve() };
}

const enc = new TextEncoder();
const toBytes = (v: unknown) => enc.encode(JSON.stringify(v));

/** Approval ids may hold `:`, which KV keys may not: base64url is one key token with no `.` in it. */
export const keyOf = (approvalId: string) => Buffer.from(approvalId, 'utf8').toString('base64url');

function isCasFailure(err: unknown): boolean {
  const s = String(err);
  return s.includes('wrong last sequence') || s.includes('10071') || s.includes('key exists');
}

class KvApprovalStore implements ApprovalStore {
  constructor(
    private readonly kv: KV,
    private readonly index: KV,
  ) {}

  async create(record: ApprovalRecord): Promise<'created' | 'exists'> {
    const key = keyOf(record.approvalId);
    try {
      await this.kv.create(key, toBytes(record));
    } catch (err) {
      if (!isCasFailure(err)) throw err;
      // A redelivered request after a crash between the create and the index write: repair the index.
      const existing = await this.get(record.approvalId);
      if (existing) await this.syncIndex(existing.value);
      return 'exists';
    }
    await this.syncIndex(record);
    return 'created';
  }

  async get(approvalId: string): Promise<Versioned<ApprovalRecord> | undefined> {
    const e = await this.kv.get(keyOf(approvalId));
    if (!e || e.operation !== 'PUT') return undefined;
    return { value: ApprovalRecord.parse(e.json()), version: e.revision };
  }

  async update(record: ApprovalRecord, expectedVersion: number): Promise<WriteResult> {
    let version: number;
    try {
      version = await this.kv.update(keyOf(record.approvalId), toBytes(record), expectedVersion);
    } catch (err) {
      if (isCasFailure(err)) return { ok: false, reason: 'conflict' };
      throw err;
    }
    // Records never reopen, and an open record's entry is never removed: only closing needs a write.
    if (!isOpen(record)) await this.index.delete(keyOf(record.approvalId));
    return { ok: true, version };
  }

  async list(filter: ApprovalFilter = {}): Promise<ApprovalRecord[]> {
    const out: ApprovalRecord[] = [];
    const source = filter.status === 'pending' ? this.index : this.kv;
    for await (const key of await source.keys()) {
      const e = await this.kv.get(key);
      if (!e || e.operation !== 'PUT') continue;
      const r = ApprovalRecord.parse(e.json());
      if (filter.status && r.status !== filter.status) continue;
      out.push(r);
    }
    out.sort((a, b) => Date.parse(b.request.requestedAt) - Date.parse(a.request.requestedAt));
    return out.slice(0, filter.limit ?? 100);
  }

  async due(now: Date, limit: number): Promise<Versioned<ApprovalRecord>[]> {
    const out: Versioned<ApprovalRecord>[] = [];
    for await (const key of await this.index.keys()) {
      if (out.length >= limit) break;
      const e = await this.kv.get(key);
      if (!e || e.operation !== 'PUT') {
        await this.index.delete(key);
        continue;
      }
      const r = ApprovalRecord.parse(e.json());
      // An index entry outlives its record's last open version when two writers interleave: drop it here.
      if (!isOpen(r)) await this.index.delete(key);
      else if (isDue(r, now)) out.push({ value: r, version: e.revision });
    }
    return out;
  }

  private async syncIndex(record: ApprovalRecord): Promise<void> {
    const key = keyOf(record.approvalId);
    if (isOpen(record)) await this.index.put(key, toBytes({ deadlineAt: record.deadlineAt ?? null }));
    else await this.index.delete(key);
  }
}

class KvAuditStore implements AuditStore {
  constructor(private readonly kv: KV) {}

  async append(entry: AuditEntry): Promise<void> {
    try {
      await this.kv.create(`${keyOf(entry.approvalId)}.${entry.entryId}`, toBytes(entry));
    } catch (err) {
      if (!isCasFailure(err)) throw err; // already stored: an append retried after a lost reply
    }
  }

  async list(approvalId: string): Promise<AuditEntry[]> {
    const out: AuditEntry[] = [];
    for await (const key of await this.kv.keys(`${keyOf(approvalId)}.*`)) {
      const e = await this.kv.get(key);
      if (e && e.operation === 'PUT') out.push(AuditEntry.parse(e.json()));
    }
    return out.sort(byTime);
  }
}
