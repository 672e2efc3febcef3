import { createHash } from 'node:crypto';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { buckets, RunRequest } from '@pipewright/contracts';
import { z } from 'zod';

/** What a key remembers: the run it made and the request it was made with. */
export const IdempotencyRecord = z.strictObject({
  runId: z.string(),
  /** sha256 of the request's canonical JSON (keys sorted; the run id left out when the console chose it). */
  digest: z.string(),
  request: RunRequest,
  at: z.string(),
  by: z.string(),
});
export type IdempotencyRecord = z.infer<typeof IdempotencyRecord>;

export type ClaimResult = { kind: 'created' } | { kind: 'exists'; record: IdempotencyRecord };

/**
 * The API's idempotency keys in the KV bucket `pw_idempotency`, created once with the bucket's max age
 * as the keys' lifetime. A key is claimed with a create-only write, so of two concurrent requests with
 * one key exactly one creates the run; the other finds the record. Caller keys are stored by their
 * sha256 (any text, any length up to the header limit), run ids (`run.<id>`) as they are.
 */
export class IdempotencyKeys {
  private constructor(private readonly kv: KV) {}

  static async open(nc: NatsConnection, opts: { ttlMs: number; replicas: number }): Promise<IdempotencyKeys> {
    return new IdempotencyKeys(await new Kvm(nc).create(buckets.idempotency, { history: 1, ttl: opts.ttlMs, replicas: opts.replicas }));
  }

  static callerKey(key: string): string {
    return `key.${createHash('sha256').update(key, 'utf8').digest('hex')}`;
  }

  static runKey(runId: string): string {
    return `run.${runId}`;
  }

  /** Claims `key` for `record`; if it is taken, the record that took it. */
  async claim(key: string, record: IdempotencyRecord): Promise<ClaimResult> {
    try {
      await this.kv.create(key, JSON.stringify(record));
      return { kind: 'created' };
    } catch (err) {
      if (!(err instanceof JetStreamApiError && (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown))) throw err;
    }
    const found = await this.get(key);
    // Taken and gone again between the two calls (expired): claim it anew.
    return found ? { kind: 'exists', record: found } : this.claim(key, record);
  }

  async get(key: string): Promise<IdempotencyRecord | undefined> {
    const e = await this.kv.get(key);
    if (!e || e.operation !== 'PUT') return undefined;
    const parsed = IdempotencyRecord.safeParse(e.json());
    return parsed.success ? parsed.data : undefined;
  }

  /** Gives a key back (the request it was claimed for was refused after all). */
  async release(key: string): Promise<void> {
    await this.kv.delete(key);
  }
}
