import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { ToolReply } from '@pipewright/contracts';
import { BUSY_RETRY_AFTER_MAX_MS, type Claim, type ClaimToken, type ReceiptRecord, type ReceiptStore } from './types.js';

/** Bucket of tool receipts. TODO(lead): move next to `buckets` in contracts/src/subjects.ts. */
export const TOOL_RECEIPTS_BUCKET = 'pw_tool_receipts';
/** Receipts are kept this long: longer than any run's redeliveries (streams keep messages 7 days). */
export const TOOL_RECEIPTS_TTL_MS = 7 * 86_400_000;

export interface KvReceiptOptions {
  /** @default TOOL_RECEIPTS_BUCKET */
  bucket?: string;
  /** How long a receipt is kept; applies when this call creates the bucket. @default 7 days */
  ttlMs?: number;
  /** Replicas of the bucket (3 on a cluster). @default 1 */
  replicas?: number;
}

/**
 * Receipts in a NATS KV bucket, shared by every replica of a tool: a claim is a KV `create` (atomic,
 * so two replicas cannot both claim a key) and every later change is compare-and-set on the revision.
 */
export async function kvReceipts(nc: NatsConnection, opts: KvReceiptOptions = {}): Promise<ReceiptStore> {
  const kv = await new Kvm(nc).create(opts.bucket ?? TOOL_RECEIPTS_BUCKET, {
    history: 1,
    ttl: opts.ttlMs ?? TOOL_RECEIPTS_TTL_MS,
    replicas: opts.replicas ?? 1,
  });
  return new KvReceipts(kv);
}

/** Create/read rounds of one claim before it answers busy. */
const CLAIM_ROUNDS = 3;

const enc = new TextEncoder();
const toBytes = (r: ReceiptRecord) => enc.encode(JSON.stringify(r));

/** Idempotency keys hold `:` (not a legal KV key character): the key is base64url, under the tool's name. */
const kvKey = (tool: string, key: string) => `${tool}.${Buffer.from(key, 'utf8').toString('base64url')}`;

/** KV raises on a failed create/update; its message names the wrong last sequence. */
function isCasFailure(err: unknown): boolean {
  const s = String(err);
  return s.includes('wrong last sequence') || s.includes('10071') || s.includes('key exists');
}

class KvReceipts implements ReceiptStore {
  constructor(private readonly kv: KV) {}

  async claim(tool: string, key: string, leaseMs: number): Promise<Claim> {
    const k = kvKey(tool, key);
    const pending = (): ReceiptRecord => ({ state: 'pending', leaseUntil: Date.now() + leaseMs });
    // Bounded: a key released between our failed create and our read is claimed on the next round.
    for (let round = 0; round < CLAIM_ROUNDS; round++) {
      try {
        return { kind: 'claimed', token: { tool, key, revision: await this.kv.create(k, toBytes(pending())) } };
      } catch (err) {
        if (!isCasFailure(err)) throw err;
      }
      const e = await this.kv.get(k);
      if (!e || e.operation !== 'PUT') continue;
      const record = parseRecord(e.json());
      if (record.state === 'done') return { kind: 'done', reply: record.reply };
      const now = Date.now();
      if (record.leaseUntil > now) return { kind: 'busy', retryAfterMs: Math.min(BUSY_RETRY_AFTER_MAX_MS, record.leaseUntil - now) };
      // The holder's lease ran out (it died): take the claim over, unless another replica is quicker.
      try {
        return { kind: 'claimed', token: { tool, key, revision: await this.kv.update(k, toBytes(pending()), e.revision) } };
      } catch (err) {
        if (!isCasFailure(err)) throw err;
      }
    }
    return { kind: 'busy', retryAfterMs: BUSY_RETRY_AFTER_MAX_MS };
  }

  async complete(token: ClaimToken, reply: ToolReply): Promise<void> {
    const record: ReceiptRecord = { state: 'done', reply, completedAt: new Date().toISOString() };
    try {
      await this.kv.update(kvKey(token.tool, token.key), toBytes(record), token.revision);
    } catch (err) {
      // Taken over after our lease ran out: the new holder's receipt wins.
      if (!isCasFailure(err)) throw err;
    }
  }

  async release(token: ClaimToken): Promise<void> {
    try {
      await this.kv.delete(kvKey(token.tool, token.key), { previousSeq: token.revision });
    } catch (err) {
      if (!isCasFailure(err)) throw err;
    }
  }
}

/** A record this code did not write (or a newer version wrote) is a bug, not an outcome: it throws. */
function parseRecord(raw: unknown): ReceiptRecord {
  const r = raw as Partial<ReceiptRecord> | null;
  if (r?.state === 'pending' && typeof r.leaseUntil === 'number') return { state: 'pending', leaseUntil: r.leaseUntil };
  if (r?.state === 'done') return { state: 'done', reply: ToolReply.parse(r.reply), completedAt: String(r.completedAt) };
  throw new Error(`unreadable tool receipt: ${JSON.stringify(raw).slice(0, 200)}`);
}
