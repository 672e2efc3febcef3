import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { CasResult, LedgerStore, StoredDoc } from './types.js';

/** The embedded store's bucket: ledgers under `run.`, `pipeline.`, `tenant.`; sweeper marks under `open.`. */
export const BUDGET_BUCKET = 'pw_budget';
const OPEN_PREFIX = 'open.';

/** NATS KV refuses a create or update on a stale revision with "wrong last sequence" (10071). */
function isCasFailure(err: unknown): boolean {
  const s = String(err);
  return s.includes('wrong last sequence') || s.includes('10071') || s.includes('key exists');
}

const enc = new TextEncoder();

/** The ledger on NATS KV: the revision is the version; create and update are conditional on it. */
export async function openKvLedgerStore(nc: NatsConnection, opts: { replicas?: number; bucket?: string } = {}): Promise<LedgerStore> {
  const kv = await new Kvm(nc).create(opts.bucket ?? BUDGET_BUCKET, { history: 1, replicas: opts.replicas ?? 1 });
  return new KvLedgerStore(kv);
}

class KvLedgerStore implements LedgerStore {
  readonly kind = 'kv' as const;

  constructor(private readonly kv: KV) {}

  async get(key: string): Promise<StoredDoc | undefined> {
    const e = await this.kv.get(key);
    if (!e || e.operation !== 'PUT') return undefined;
    return { text: e.string(), version: e.revision };
  }

  async create(key: string, text: string): Promise<CasResult> {
    try {
      return { ok: true, version: await this.kv.create(key, enc.encode(text)) };
    } catch (err) {
      if (isCasFailure(err)) return { ok: false, reason: 'exists' };
      throw err;
    }
  }

  async update(key: string, text: string, expectedVersion: number): Promise<CasResult> {
    try {
      return { ok: true, version: await this.kv.update(key, enc.encode(text), expectedVersion) };
    } catch (err) {
      if (isCasFailure(err)) return { ok: false, reason: 'conflict' };
      throw err;
    }
  }

  async markOpen(runId: string): Promise<void> {
    await this.kv.put(`${OPEN_PREFIX}${runId}`, enc.encode('1'));
  }

  async clearOpen(runId: string): Promise<void> {
    await this.kv.purge(`${OPEN_PREFIX}${runId}`);
  }

  async openRuns(limit: number): Promise<string[]> {
    const out: string[] = [];
    const keys = await this.kv.keys(`${OPEN_PREFIX}>`);
    for await (const key of keys) {
      if (out.length < limit) out.push(key.slice(OPEN_PREFIX.length));
      // Keep reading: the lister must be drained to end cleanly.
    }
    return out;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
