/**
 * How the executor names and sizes a reservation. The id is deterministic per model call, so a retried
 * reserve (after a timeout, or by a redelivered command on another executor) is the same reservation.
 */

/**
 * `<runId>:<stepId>:<attempt>:<call>[:<delivery>]`: `attempt` is the step's dispatch number, `call` the
 * model call within that delivery (from 1), `delivery` the stream message and its delivery
 * (`s<seq>d<n>`). A command delivered again (its executor died, it was parked and re-published, the
 * planner replayed it) makes its calls again and pays for them again, so they are reservations of
 * their own; a retried budget request within one delivery is the same reservation.
 */
export function reservationIdFor(runId: string, stepId: string, attempt: number, call: number, delivery?: string): string {
  return delivery === undefined ? `${runId}:${stepId}:${attempt}:${call}` : `${runId}:${stepId}:${attempt}:${call}:${delivery}`;
}

/**
 * Reserved for the output when a step sets no `maxOutputTokens`. The executor must then send this cap
 * as `max_completion_tokens`, so that the call cannot spend more than was reserved. Defined in contracts:
 * the check at submit refuses a token budget below it (pipeline-limits.ts).
 */
export { DEFAULT_MAX_OUTPUT_TOKENS } from '@pipewright/contracts';

/** A lease outlives its call by this much: time to receive the answer, parse it and commit. */
export const LEASE_MARGIN_MS = 30_000;
const MAX_LEASE_MS = 3_600_000;

/** Lease for a call with the given timeout: long enough to commit after a call that used all of it. */
export function leaseMsFor(callTimeoutMs: number, marginMs: number = LEASE_MARGIN_MS): number {
  return Math.min(MAX_LEASE_MS, Math.max(100, Math.max(1, callTimeoutMs) + marginMs));
}
