import type { KV } from '@nats-io/kv';
import { callIdToken, ToolIntent, ToolReceipt, type ToolCallRecord, type ToolCallRef, type ToolCallStore } from './tool-calls.js';

const enc = new TextEncoder();

/** KV raises on a `create` of a key that exists; its message names the wrong last sequence. */
function keyExists(err: unknown): boolean {
  const s = String(err);
  return s.includes('wrong last sequence') || s.includes('10071') || s.includes('key exists');
}

const key = (ref: ToolCallRef, kind: 'intent' | 'receipt') => `${ref.runId}.${ref.stepId}.${callIdToken(ref.callId)}.${kind}`;

/** Intents and receipts in one KV bucket, `<run>.<step>.<call>.intent|receipt`; `create` makes the first write win. */
export class KvToolCallStore implements ToolCallStore {
  constructor(private readonly kv: KV) {}

  intend(intent: ToolIntent): Promise<'created' | 'exists'> {
    return this.create(key(intent, 'intent'), intent);
  }

  complete(receipt: ToolReceipt): Promise<'created' | 'exists'> {
    return this.create(key(receipt, 'receipt'), receipt);
  }

  async get(ref: ToolCallRef): Promise<ToolCallRecord> {
    const [i, r] = await Promise.all([this.kv.get(key(ref, 'intent')), this.kv.get(key(ref, 'receipt'))]);
    const out: ToolCallRecord = {};
    if (i && i.operation === 'PUT') out.intent = ToolIntent.parse(i.json());
    if (r && r.operation === 'PUT') out.receipt = ToolReceipt.parse(r.json());
    return out;
  }

  async deleteRun(runId: string): Promise<void> {
    for await (const k of await this.kv.keys(`${runId}.>`)) await this.kv.purge(k);
  }

  private async create(k: string, value: unknown): Promise<'created' | 'exists'> {
    try {
      await this.kv.create(k, enc.encode(JSON.stringify(value)));
      return 'created';
    } catch (err) {
      if (keyExists(err)) return 'exists';
      throw err;
    }
  }
}
