import type { NatsConnection } from '@nats-io/transport-node';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { RetryableError } from '../errors.js';
import { buckets, RunState, TERMINAL_STATUSES, type RunStatus } from '@pipewright/contracts';
import { openObjectStoreBlobs } from './object-store-blobs.js';
import type { DurabilityProfile, RunFilter, RunStore, RunSummary, Stores, Versioned, WriteOptions, WriteResult } from './types.js';

export interface KvStoreOptions {
  /** Replicas of each bucket (1 for a single server, 3 for a cluster). @default 1 */
  replicas?: number;
  /**
   * Recorded only: on NATS the profile is the server's `sync_interval` (see docs/durability.md), which a
   * client can neither set nor read. @default 'default'
   */
  durability?: DurabilityProfile;
  /**
   * Create the run checkpoints' bucket when it is missing (the planner, PW_TOPOLOGY=manage). false: bind
   * to it, and wait (a RetryableError at start-up) until the planner has created it. @default true
   */
  createRuns?: boolean;
}

/**
 * The embedded default store: NATS KV buckets on the same JetStream that carries the messages, so a
 * local stack needs nothing but nats-server. The KV revision is the version for compare-and-set.
 */
export async function openKvStores(nc: NatsConnection, opts: KvStoreOptions = {}): Promise<Stores> {
  const kvm = new Kvm(nc);
  const replicas = opts.replicas ?? 1;
  const open = (name: string) => kvm.create(name, { history: 1, replicas });
  const [runs, blobs] = await Promise.all([opts.createRuns === false ? bindExisting(kvm, buckets.runs) : open(buckets.runs), openObjectStoreBlobs(nc, { replicas })]);
  return {
    kind: 'kv',
    runs: new KvRunStore(runs),
    blobs,
    durability: opts.durability ?? 'default',
    // KV has no per-key TTL before nats-server 2.11, and a bucket's max_age would also expire live runs.
    retention: 'sweep',
    close: () => Promise.resolve(),
  };
}

const enc = new TextEncoder();

/** Binds to a bucket another service creates; a RetryableError (retried at start-up) while it is missing. */
export async function bindExisting(kvm: Kvm, name: string): Promise<KV> {
  const kv = await kvm.open(name);
  try {
    await kv.status();
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)
      throw new RetryableError(`KV bucket ${name} does not exist yet: the planner (PW_TOPOLOGY=manage) creates it`, undefined, { cause: err });
    throw err;
  }
  return kv;
}

/** KV raises on a failed create/update; its message names the wrong last sequence. */
function isCasFailure(err: unknown): boolean {
  const s = String(err);
  return s.includes('wrong last sequence') || s.includes('10071') || s.includes('key exists');
}

class KvRunStore implements RunStore {
  constructor(private readonly kv: KV) {}

  async create(state: RunState, opts: WriteOptions = {}): Promise<WriteResult> {
    try {
      return { ok: true, version: await this.kv.create(state.runId, enc.encode(opts.json ?? JSON.stringify(state))) };
    } catch (err) {
      if (isCasFailure(err)) return { ok: false, reason: 'exists' };
      throw err;
    }
  }

  async get(runId: string): Promise<Versioned<RunState> | undefined> {
    const e = await this.kv.get(runId);
    if (!e || e.operation !== 'PUT') return undefined;
    return { value: RunState.parse(e.json()), version: e.revision };
  }

  async update(state: RunState, expectedVersion: number, opts: WriteOptions = {}): Promise<WriteResult> {
    try {
      return { ok: true, version: await this.kv.update(state.runId, enc.encode(opts.json ?? JSON.stringify(state)), expectedVersion) };
    } catch (err) {
      if (isCasFailure(err)) return { ok: false, reason: 'conflict' };
      throw err;
    }
  }

  /** Scans every run: fine for the embedded store's scale; the MongoDB store uses indexes. */
  async list(filter: RunFilter = {}): Promise<RunSummary[]> {
    const out: RunSummary[] = [];
    for await (const s of this.scan()) {
      if (filter.status && s.status !== filter.status) continue;
      if (filter.pipeline && s.pipeline.name !== filter.pipeline) continue;
      out.push(summarize(s));
    }
    // Timestamps may carry any zone offset, so compare instants rather than strings.
    out.sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
    return out.slice(0, filter.limit ?? 100);
  }

  async listFinishedBefore(before: Date, limit: number): Promise<string[]> {
    const found: { runId: string; at: number }[] = [];
    for await (const s of this.scan()) {
      if (!TERMINAL_STATUSES.has(s.status)) continue;
      const at = Date.parse(s.finishedAt ?? s.updatedAt);
      if (at < before.getTime()) found.push({ runId: s.runId, at });
    }
    found.sort((a, b) => a.at - b.at);
    return found.slice(0, limit).map((f) => f.runId);
  }

  private async *scan(): AsyncGenerator<RunState> {
    for await (const key of await this.kv.keys()) {
      const e = await this.kv.get(key);
      if (e && e.operation === 'PUT') yield e.json<RunState>();
    }
  }

  async delete(runId: string): Promise<void> {
    await this.kv.purge(runId);
  }
}

export function summarize(s: { runId: string; status: RunStatus; pipeline: { name: string }; tenant: string; createdAt: string; updatedAt: string }): RunSummary {
  return { runId: s.runId, status: s.status, pipeline: s.pipeline.name, tenant: s.tenant, createdAt: s.createdAt, updatedAt: s.updatedAt };
}
