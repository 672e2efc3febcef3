import type { JetStreamManager } from '@nats-io/jetstream';
import { isClaimRef, StepCompleted, streams } from '@pipewright/contracts';
import { resolveClaim, TerminalError, type BlobStore } from '@pipewright/kit';
import { z } from 'zod';

/**
 * A step output kept where it already is: in the task result that delivered it (PW_EVENTS, by stream
 * sequence). The stored run holds this instead of a copy, so a run's size does not grow with its
 * outputs and no write is spent on keeping them; PW_EVENTS keeps results as long as a run may live.
 */
export const ResultRef = z.object({ $result: z.object({ runId: z.string(), seq: z.number().int().positive(), bytes: z.number().int().nonnegative() }).strict() }).strict();
export type ResultRef = z.infer<typeof ResultRef>;

export const isResultRef = (v: unknown): v is ResultRef => ResultRef.safeParse(v).success;

export interface ResultReader {
  /** The output of the task result a reference names. */
  output(ref: ResultRef): Promise<unknown>;
}

/** Reads results with a direct get by sequence; an output that is itself a blob reference is resolved. */
export function resultReader(jsm: JetStreamManager, blobs: BlobStore): ResultReader {
  return {
    async output(ref) {
      const m = await jsm.direct.getMessage(streams.events.name, { seq: ref.$result.seq });
      const parsed = m ? StepCompleted.safeParse(m.json()) : undefined;
      if (!parsed?.success || parsed.data.runId !== ref.$result.runId)
        throw new TerminalError(`run ${ref.$result.runId}: the step result at PW_EVENTS sequence ${ref.$result.seq} is gone or is not this run's (removed by retention?)`, 'result-missing');
      const out = parsed.data.output;
      return isClaimRef(out) ? resolveClaim(out, blobs) : out;
    },
  };
}
