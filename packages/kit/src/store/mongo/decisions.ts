import { Decision } from '@pipewright/contracts';
import type { DecisionStore } from '../types.js';
import type { Collections } from './collections.js';
import { onlyDuplicates } from './errors.js';
import { toDate, type Expiry } from './expiry.js';

/** The decision trail, one document per (runId, seq); appending a decision twice stores it once. */
export class MongoDecisionStore implements DecisionStore {
  constructor(
    private readonly c: Collections,
    private readonly expiry: Expiry,
  ) {}

  async append(decisions: readonly Decision[]): Promise<void> {
    if (decisions.length === 0) return;
    const docs = decisions.map((d) => ({ runId: d.runId, seq: d.seq, json: JSON.stringify(d), expireAt: this.expiry.ofChild(toDate(d.at)) }));
    try {
      // Unordered: a duplicate does not stop the rest, and the first write of a (runId, seq) is kept.
      await this.c.decisions.insertMany(docs, { ordered: false });
    } catch (err) {
      if (!onlyDuplicates(err)) throw err;
    }
  }

  async list(runId: string): Promise<Decision[]> {
    const docs = await this.c.decisions.find({ runId }, { projection: { json: 1 } }).sort({ seq: 1 }).toArray();
    return docs.map((d) => Decision.parse(JSON.parse(d.json)));
  }

  async deleteRun(runId: string): Promise<void> {
    await this.c.decisions.deleteMany({ runId });
  }
}
