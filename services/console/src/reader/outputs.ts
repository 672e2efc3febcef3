import { isClaimRef, parseClaimUrl, type RunEvent } from '@pipewright/contracts';
import { resolveClaim, type BlobStore } from '@pipewright/kit';
import { z } from 'zod';
import type { SeqEvent } from './run-events.js';

/**
 * The planner's reference to a step output it did not copy into the run (the task result that carries
 * it, by PW_EVENTS sequence; see the planner's result-refs.ts). Read here from the run's own events.
 */
const ResultRef = z.strictObject({ $result: z.strictObject({ runId: z.string(), seq: z.number().int().positive(), bytes: z.number().int().nonnegative() }) });

/** What a value that could not be read back shows instead (its blob was removed by retention, say). */
export interface Unavailable {
  $unavailable: string;
}

/**
 * Resolves the references a run's checkpoint holds in place of large outputs: `$result` (a task
 * result among the run's events) and claim checks (`$ref`, a blob). Only the run's own references are
 * followed: a model that writes a reference-shaped object cannot pull another run's data in.
 */
export class OutputResolver {
  private readonly bySeq: Map<number, RunEvent>;

  constructor(
    private readonly runId: string,
    events: readonly SeqEvent[],
    private readonly blobs: BlobStore,
  ) {
    this.bySeq = new Map(events.map((e) => [e.seq, e.event]));
  }

  async resolve(v: unknown): Promise<unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
    const result = ResultRef.safeParse(v);
    if (result.success) {
      if (result.data.$result.runId !== this.runId) return v;
      const ev = this.bySeq.get(result.data.$result.seq);
      if (ev?.type !== 'step.completed') return { $unavailable: `the step result at PW_EVENTS sequence ${result.data.$result.seq} is gone` } satisfies Unavailable;
      return this.resolve(ev.output);
    }
    if (!isClaimRef(v) || parseClaimUrl(v.$ref)?.runId !== this.runId) return v;
    try {
      return await resolveClaim(v, this.blobs);
    } catch {
      return { $unavailable: `the stored value ${v.$ref} is gone` } satisfies Unavailable;
    }
  }
}
