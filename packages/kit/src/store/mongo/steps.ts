import { StepCompleted } from '@pipewright/contracts';
import { checkpointPart, partOf, type StepCheckpoint, type StepStore } from '../types.js';
import type { Collections } from './collections.js';
import { isDuplicateKey } from './errors.js';
import { toDate, type Expiry } from './expiry.js';

/**
 * `_id` of a step's completion. Reads go by `_id`, which MongoDB-compatible servers without secondary
 * index use (FerretDB on SQLite) still filter in the database.
 */
const stepKey = (runId: string, stepId: string) => `${runId}:${stepId}`;

/** Step completions, one document per (runId, step or agent turn); the unique key makes the first write win. */
export class MongoStepStore implements StepStore {
  constructor(
    private readonly c: Collections,
    private readonly expiry: Expiry,
  ) {}

  async get(runId: string, stepId: string, turn?: number): Promise<StepCheckpoint | undefined> {
    const doc = await this.c.steps.findOne({ _id: stepKey(runId, checkpointPart(stepId, turn)) }, { projection: { json: 1 } });
    return doc ? StepCompleted.parse(JSON.parse(doc.json)) : undefined;
  }

  async put(cp: StepCheckpoint): Promise<'created' | 'exists'> {
    try {
      const part = partOf(cp);
      await this.c.steps.insertOne({ _id: stepKey(cp.runId, part), runId: cp.runId, stepId: part, json: JSON.stringify(cp), expireAt: this.expiry.ofChild(toDate(cp.at)) });
      return 'created';
    } catch (err) {
      if (isDuplicateKey(err)) return 'exists';
      throw err;
    }
  }

  async deleteRun(runId: string): Promise<void> {
    await this.c.steps.deleteMany({ runId });
  }
}
