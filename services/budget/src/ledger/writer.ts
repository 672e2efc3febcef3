import { errorMessage, RetryableError, TerminalError, type Logger } from '@pipewright/kit';
import type { LedgerStore, StoredDoc } from '../store/types.js';
import { LEDGER_DOC_BUDGET_BYTES, LedgerFullError } from './doc-size.js';
import { Lru } from './lru.js';
import type { Codec, LedgerOp } from './op.js';

/** How long one batch may keep retrying (conflicts, store errors) before its requests fail as retryable. */
export const WRITE_DEADLINE_MS = 5_000;
/** Operations folded into one write at most. */
const MAX_BATCH = 256;
const BACKOFF_BASE_MS = 1;
const BACKOFF_CAP_MS = 25;
const CACHE_ENTRIES = 10_000;
/** The largest value NATS KV takes by default (the server's `max_payload`); MongoDB's limit is higher. */
const MAX_DOC_BYTES = 1024 * 1024;

interface Cached extends StoredDoc {
  /** When it was read or written. */
  at: number;
}

interface Pending {
  op: LedgerOp<unknown, unknown>;
  codec: Codec<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export interface WriterStats {
  writes: number;
  conflicts: number;
}

/**
 * Applies ledger operations with compare-and-set, one write at a time per document in this replica:
 * operations that arrive while a write is in flight are folded into the next one (group commit), so a
 * hot document (a tenant) costs one store round trip per batch, not per request. The last version
 * written or read is cached, so a write needs no read unless another replica changed the document.
 * Replicas contend only through the store's version check.
 */
export class LedgerWriter {
  private readonly queues = new Map<string, Pending[]>();
  private readonly cache = new Lru<string, Cached>(CACHE_ENTRIES);
  readonly stats: WriterStats = { writes: 0, conflicts: 0 };

  constructor(
    private readonly store: LedgerStore,
    private readonly log: Logger,
    private readonly deadlineMs = WRITE_DEADLINE_MS,
  ) {}

  run<D, R>(key: string, codec: Codec<D>, op: LedgerOp<D, R>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const entry: Pending = { op: op as LedgerOp<unknown, unknown>, codec, resolve: resolve as (v: unknown) => void, reject };
      const queue = this.queues.get(key);
      if (queue) return void queue.push(entry);
      const fresh = [entry];
      this.queues.set(key, fresh);
      void this.drain(key, fresh);
    });
  }

  /** The stored document, read now (not from the cache); refreshes the cache. A store that fails is retryable. */
  async read<D>(key: string, codec: Codec<D>): Promise<D | undefined> {
    let stored: StoredDoc | undefined;
    try {
      stored = await this.fetch(key, codec);
    } catch (err) {
      if (err instanceof TerminalError || err instanceof RetryableError) throw err;
      throw new RetryableError(`ledger store unavailable: ${errorMessage(err)}`, undefined, { cause: err });
    }
    return stored ? (JSON.parse(stored.text) as D) : undefined;
  }

  private cached(key: string): StoredDoc | undefined {
    const c = this.cache.get(key);
    const maxAge = this.store.maxCacheAgeMs;
    if (c && maxAge !== undefined && Date.now() - c.at > maxAge) {
      this.cache.delete(key);
      return undefined;
    }
    return c;
  }

  private async drain(key: string, queue: Pending[]): Promise<void> {
    try {
      while (queue.length > 0) await this.apply(key, queue.splice(0, MAX_BATCH));
    } finally {
      this.queues.delete(key);
    }
  }

  private async fetch(key: string, codec: Codec<unknown>): Promise<StoredDoc | undefined> {
    const stored = await this.store.get(key);
    if (!stored) {
      this.cache.delete(key);
      return undefined;
    }
    try {
      codec.decode(JSON.parse(stored.text));
    } catch (err) {
      throw new TerminalError(`ledger document ${key} is not valid: ${errorMessage(err)}`, 'corrupt_ledger');
    }
    this.cache.set(key, { ...stored, at: Date.now() });
    return stored;
  }

  private async apply(key: string, batch: Pending[]): Promise<void> {
    const deadline = Date.now() + this.deadlineMs;
    const codec = batch[0]!.codec;
    let base: StoredDoc | undefined = this.cached(key);
    let fresh = false;
    for (let attempt = 1; ; attempt++) {
      try {
        if (!base && !fresh) {
          base = await this.fetch(key, codec);
          fresh = true;
        }
        const now = Date.now();
        let doc: unknown = base ? JSON.parse(base.text) : undefined;
        let dirty = false;
        const results: { ok: boolean; value: unknown }[] = [];
        for (const p of batch) {
          try {
            const out = p.op(doc, now);
            doc = out.doc;
            dirty ||= out.changed;
            results.push({ ok: true, value: out.result });
          } catch (err) {
            // An operation that throws is a bug; it fails alone and must not have changed the document.
            results.push({ ok: false, value: err });
          }
        }
        if (!dirty && !fresh) {
          // Decisions that wrote nothing (a denial, a repeat) were made on a cached copy: confirm them on
          // the stored version, since a newer one may allow what the cache refused.
          base = undefined;
          continue;
        }
        if (dirty) {
          const text = JSON.stringify(doc);
          // The operations keep documents well below this (doc-size.ts); should one still grow past it, the
          // batch fails at once, not after retrying a write the store must refuse until the deadline.
          if (text.length > LEDGER_DOC_BUDGET_BYTES && Buffer.byteLength(text) > MAX_DOC_BYTES) throw new LedgerFullError(`ledger ${key}: the document would be ${Buffer.byteLength(text)} bytes, more than the store takes`);
          const w = base ? await this.store.update(key, text, base.version) : await this.store.create(key, text);
          if (!w.ok) {
            this.stats.conflicts += 1;
            this.cache.delete(key);
            base = undefined;
            fresh = false;
            if (Date.now() > deadline) throw new RetryableError(`ledger ${key}: too much contention`);
            if (attempt > 1) await sleep(Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt));
            continue;
          }
          this.stats.writes += 1;
          this.cache.set(key, { text, version: w.version, at: Date.now() });
        }
        batch.forEach((p, i) => (results[i]!.ok ? p.resolve(results[i]!.value) : p.reject(results[i]!.value)));
        return;
      } catch (err) {
        if (err instanceof TerminalError || err instanceof RetryableError || Date.now() > deadline) {
          const failure = err instanceof TerminalError || err instanceof RetryableError ? err : new RetryableError(`ledger store unavailable: ${errorMessage(err)}`, undefined, { cause: err });
          this.log.error({ err: failure, key }, 'ledger write failed');
          for (const p of batch) p.reject(failure);
          return;
        }
        this.cache.delete(key);
        base = undefined;
        fresh = false;
        await sleep(Math.random() * Math.min(BACKOFF_CAP_MS * 4, BACKOFF_BASE_MS * 2 ** attempt));
      }
    }
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
