import { callIdToken, ToolIntent, ToolReceipt, type ToolCallRecord, type ToolCallRef, type ToolCallStore } from '../tool-calls.js';
import type { Collections } from './collections.js';
import { isDuplicateKey } from './errors.js';
import { toDate, type Expiry } from './expiry.js';

/** `_id` of a call's intent or receipt. Run and step ids never contain `:`, call id tokens neither. */
const docId = (ref: ToolCallRef, kind: 'intent' | 'receipt') => `${ref.runId}:${ref.stepId}:${callIdToken(ref.callId)}:${kind}`;

/**
 * Intents and receipts, one document each. First write wins through the unique `_id` (an insert),
 * not a conditional update, which FerretDB does not apply atomically.
 */
export class MongoToolCallStore implements ToolCallStore {
  constructor(
    private readonly c: Collections,
    private readonly expiry: Expiry,
  ) {}

  intend(intent: ToolIntent): Promise<'created' | 'exists'> {
    return this.insert(docId(intent, 'intent'), intent.runId, 'intent', intent, intent.at);
  }

  complete(receipt: ToolReceipt): Promise<'created' | 'exists'> {
    return this.insert(docId(receipt, 'receipt'), receipt.runId, 'receipt', receipt, receipt.at);
  }

  /** Two reads by `_id`, which every server answers from its primary key. */
  async get(ref: ToolCallRef): Promise<ToolCallRecord> {
    const projection = { projection: { json: 1 } };
    const [i, r] = await Promise.all([this.c.toolCalls.findOne({ _id: docId(ref, 'intent') }, projection), this.c.toolCalls.findOne({ _id: docId(ref, 'receipt') }, projection)]);
    const out: ToolCallRecord = {};
    if (i) out.intent = ToolIntent.parse(JSON.parse(i.json));
    if (r) out.receipt = ToolReceipt.parse(JSON.parse(r.json));
    return out;
  }

  async deleteRun(runId: string): Promise<void> {
    await this.c.toolCalls.deleteMany({ runId });
  }

  private async insert(_id: string, runId: string, kind: 'intent' | 'receipt', value: unknown, at: string): Promise<'created' | 'exists'> {
    try {
      await this.c.toolCalls.insertOne({ _id, runId, kind, json: JSON.stringify(value), expireAt: this.expiry.ofChild(toDate(at)) });
      return 'created';
    } catch (err) {
      if (isDuplicateKey(err)) return 'exists';
      throw err;
    }
  }
}
