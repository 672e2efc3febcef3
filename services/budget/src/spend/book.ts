import { SCHEMA_VERSION, type Spend } from '@pipewright/contracts';
import type { LedgerContext } from '../service/context.js';
import { book, release } from '../service/settle.js';

export interface Booked {
  /** Entries whose usage this booking counted. */
  committed: number;
  /** Entries whose reservation this booking gave back (nothing was used). */
  released: number;
  /** Entries booked before (a redelivered event, a repeat): nothing changed. */
  repeated: number;
  /** USD this booking charged (repeats excluded). */
  chargedUsd: number;
}

/** A call that got no answer reports all-zero usage: nothing was spent, its reservation is given back. */
const usedNothing = (s: Spend) => s.usage.inputTokens === 0 && s.usage.outputTokens === 0;

/**
 * Books every spend entry of one task event: a commit of its usage, or a release when it used nothing.
 * Both are idempotent by reservation id, so an event delivered again counts nothing again. Waits for
 * every entry and then throws the first failure, so the event is acknowledged only once all of it is
 * booked; the redelivery repeats what was done and does what was not.
 */
export async function bookSpend(ctx: LedgerContext, runId: string, spend: readonly Spend[]): Promise<Booked> {
  const results = await Promise.allSettled(
    spend.map((s) =>
      usedNothing(s)
        ? release(ctx, { schemaVersion: SCHEMA_VERSION, runId, reservationId: s.reservationId, reason: 'the call got no answer (reported with the task result)' })
        : book(ctx, { runId, reservationId: s.reservationId, model: s.model, usage: s.usage }),
    ),
  );
  const out: Booked = { committed: 0, released: 0, repeated: 0, chargedUsd: 0 };
  for (const r of results) {
    if (r.status === 'rejected') throw r.reason;
    const v = r.value;
    if (v.repeated) out.repeated += 1;
    else if (v.outcome === 'released') out.released += 1;
    else {
      out.committed += 1;
      out.chargedUsd += v.chargedUsd;
    }
  }
  return out;
}
