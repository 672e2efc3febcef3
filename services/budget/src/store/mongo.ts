import { MongoClient, type Collection } from 'mongodb';
import { Lru } from '../ledger/lru.js';
import { CheckpointChain, claimId, isDuplicate, type CheckpointRow, type ClaimRow, type HintRow, type RetiredRow } from './mongo-chain.js';
import type { CasResult, LedgerStore, StoredDoc } from './types.js';

/** Collections of the MongoDB store. */
export const BUDGET_COLLECTIONS = {
  claims: 'budget_ledger_versions',
  checkpoints: 'budget_ledger_checkpoints',
  hints: 'budget_ledger_hints',
  retired: 'budget_ledger_retired',
  open: 'budget_open',
} as const;

/**
 * A version claim is kept this long before a checkpoint takes it over and it is deleted. Short, because
 * FerretDB finds claims for pruning by scanning the collection; long enough that a writer's own fresh
 * claim is never checkpointed while it checks it (clocks of replicas within a few seconds of each other).
 */
export const CLAIM_RETENTION_MS = 20_000;
/** A checkpoint with a successor is kept this long (readers that started from it walk on). */
export const CHECKPOINT_RETENTION_MS = 60_000;
const PRUNE_BATCH = 5_000;
const SEEN_ENTRIES = 10_000;
/**
 * A writer appends a checkpoint (in the background) every this many versions, and so does a read that
 * walked this many claims: the next reader walks less.
 */
const CHECKPOINT_EVERY = 16;

interface OpenRow {
  _id: string;
  at: Date;
}

export interface MongoLedgerOptions {
  /** Tests shorten these to make pruning race the writers. */
  claimRetentionMs?: number;
  checkpointRetentionMs?: number;
}

/**
 * The ledger on MongoDB (and FerretDB), with inserts as the only atomic step: FerretDB applies a
 * conditional update's filter and write apart (measured: 8 of 8 racing writers "won"), and refuses `$expr`.
 *
 * A write from version v inserts the claim `<key>#<v+1>` holding the new document: the unique `_id` makes
 * exactly one writer win. Claims are pruned once a checkpoint covers them (mongo-chain.ts); a writer whose
 * base was read before such a prune could find the number free again, so after its insert it looks at the
 * chain's end: a checkpoint at or beyond its version means the version was already taken, and the claim
 * is deleted and reported as a conflict. A reader starts at the newest checkpoint and walks the claims
 * beyond it; when the next claim is missing it looks at the chain's end again, since a prune may have
 * deleted claims it had not reached yet, after checkpointing them. Every lookup is by `_id`.
 */
export async function openMongoLedgerStore(url: string, dbName: string, opts: MongoLedgerOptions = {}): Promise<LedgerStore & { prune(now: number): Promise<number> }> {
  const client = new MongoClient(url, { retryWrites: false, serverSelectionTimeoutMS: 10_000 });
  await client.connect();
  try {
    const db = client.db(dbName);
    const claims = db.collection<ClaimRow>(BUDGET_COLLECTIONS.claims);
    const retired = db.collection<RetiredRow>(BUDGET_COLLECTIONS.retired);
    // Not a TTL index: a claim may only go once a checkpoint covers it, which `prune` makes sure of.
    await claims.createIndex({ at: 1 });
    await retired.createIndex({ at: 1 });
    const chain = new CheckpointChain(db.collection<CheckpointRow>(BUDGET_COLLECTIONS.checkpoints), db.collection<HintRow>(BUDGET_COLLECTIONS.hints), retired, opts.checkpointRetentionMs ?? CHECKPOINT_RETENTION_MS);
    return new MongoLedgerStore(client, claims, chain, db.collection<OpenRow>(BUDGET_COLLECTIONS.open), opts.claimRetentionMs ?? CLAIM_RETENTION_MS);
  } catch (err) {
    await client.close();
    throw err;
  }
}

class MongoLedgerStore implements LedgerStore {
  readonly kind = 'mongo' as const;
  /** The newest version this process wrote or read per document: where a read starts walking claims. */
  private readonly seen = new Lru<string, number>(SEEN_ENTRIES);
  private readonly covering = new Map<string, Promise<void>>();

  constructor(
    private readonly client: MongoClient,
    private readonly claims: Collection<ClaimRow>,
    private readonly chain: CheckpointChain,
    private readonly open: Collection<OpenRow>,
    private readonly claimRetentionMs: number,
  ) {}

  async get(key: string): Promise<StoredDoc | undefined> {
    let base = await this.chain.endRow(key);
    let current: StoredDoc | undefined = base ? { text: base.json, version: base.version } : undefined;
    // Start the walk from the newest version this process has seen, when the checkpoint is behind it.
    const seen = this.seen.get(key);
    if (seen !== undefined && seen > (current?.version ?? 0)) {
      const c = await this.claims.findOne({ _id: claimId(key, seen) });
      if (c) current = { text: c.json, version: c.version };
    }
    for (let walked = 0; ; ) {
      const next = await this.claims.findOne({ _id: claimId(key, (current?.version ?? 0) + 1) });
      if (next) {
        current = { text: next.json, version: next.version };
        walked += 1;
        continue;
      }
      // The end of the claims, or claims pruned since this walk began: then a newer checkpoint holds them
      // (and its copy wins over a claim of the same version, which can only be a stale writer's orphan).
      const end = await this.chain.end(key);
      if (end.n > (base?.n ?? 0) && end.version >= (current?.version ?? 0)) {
        base = await this.chain.endRow(key);
        if (base) current = { text: base.json, version: base.version };
        continue;
      }
      if (current) {
        this.noteSeen(key, current.version);
        if (walked >= CHECKPOINT_EVERY) this.coverSoon(key, current.version);
      }
      return current;
    }
  }

  create(key: string, text: string): Promise<CasResult> {
    return this.write(key, text, 0);
  }

  update(key: string, text: string, expectedVersion: number): Promise<CasResult> {
    return this.write(key, text, expectedVersion);
  }

  private async write(key: string, text: string, from: number): Promise<CasResult> {
    const version = from + 1;
    const lost: CasResult = { ok: false, reason: from === 0 ? 'exists' : 'conflict' };
    const id = claimId(key, version);
    try {
      await this.claims.insertOne({ _id: id, key, version, json: text, at: new Date() });
    } catch (err) {
      if (!isDuplicate(err)) throw err;
      return lost;
    }
    // The insert won unless this version was taken before and its claim pruned since (a base read before
    // that prune): a checkpoint then holds this version or a newer one, and the claim is an orphan.
    if ((await this.chain.end(key)).version >= version) {
      await this.claims.deleteOne({ _id: id });
      return lost;
    }
    this.noteSeen(key, version);
    if (version % CHECKPOINT_EVERY === 0) this.coverSoon(key, version);
    return { ok: true, version };
  }

  private noteSeen(key: string, version: number): void {
    if (version > (this.seen.get(key) ?? 0)) this.seen.set(key, version);
  }

  /** Appends a checkpoint in the background, one at a time per document, so the next reader walks less. */
  private coverSoon(key: string, version: number): void {
    if (this.covering.has(key)) return;
    const p = this.chain
      .cover(key, this.claims, version)
      .then(() => undefined)
      .catch(() => undefined)
      .finally(() => this.covering.delete(key));
    this.covering.set(key, p);
  }

  /**
   * Removes claims older than the retention, in one pass: for each document, a checkpoint first takes
   * over its newest old claim (if none covers it yet) and the hint is pointed at the chain's end, then
   * those claims are deleted; then checkpoints whose successor is older than their retention.
   */
  async prune(now: number): Promise<number> {
    const old = await this.claims.find({ at: { $lt: new Date(now - this.claimRetentionMs) } }, { projection: { _id: 1, key: 1, version: 1 } }).limit(PRUNE_BATCH).toArray();
    const byKey = new Map<string, { newest: number; ids: string[] }>();
    for (const c of old) {
      const k = byKey.get(c.key) ?? { newest: 0, ids: [] };
      k.newest = Math.max(k.newest, c.version);
      k.ids.push(c._id);
      byKey.set(c.key, k);
    }
    let removed = 0;
    for (const [key, { newest, ids }] of byKey) {
      await this.chain.pointHint(key, await this.chain.cover(key, this.claims, newest));
      await this.claims.deleteMany({ _id: { $in: ids } });
      removed += ids.length;
    }
    return removed + (await this.chain.dropRetired(now, PRUNE_BATCH));
  }

  async markOpen(runId: string): Promise<void> {
    await this.open.updateOne({ _id: runId }, { $set: { at: new Date() } }, { upsert: true });
  }

  async clearOpen(runId: string): Promise<void> {
    await this.open.deleteOne({ _id: runId });
  }

  async openRuns(limit: number): Promise<string[]> {
    const rows = await this.open.find({}, { projection: { _id: 1 } }).limit(limit).toArray();
    return rows.map((r) => r._id);
  }

  async close(): Promise<void> {
    await Promise.all(this.covering.values());
    await this.client.close();
  }
}
