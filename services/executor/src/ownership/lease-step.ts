import type { LoggedEntry } from '@pipewright/kit';

/**
 * What a delivery of a task's command does about the task's log, decided from its last entry. Pure: the
 * IO (reading the log, asking an owner whether it is alive, appending) is in lease.ts.
 */

/** Who is asking: this executor process and the delivery it is handling. */
export interface Claimant {
  owner: string;
  /** The delivery of the command being handled: `s<stream seq>d<delivery count>` and a unique suffix. */
  delivery: string;
}

export type LeaseStep =
  /** Nobody holds the task: append a lease expecting `expectSeq`. */
  | { kind: 'take'; expectSeq: number }
  /** The log already holds this delivery's own lease (a retried append that had landed). */
  | { kind: 'mine'; seq: number }
  /** The task is over (a result, or revoked with nothing in flight): nothing to do. */
  | { kind: 'done'; why: string }
  /** Revoked while a lease was live and no result followed: write the final result for it. */
  | { kind: 'close'; expectSeq: number; why: string }
  /** Another lease is on the log: ask its owner whether it still holds the task. */
  | { kind: 'ask'; owner: string; seq: number; sameMessage: boolean };

/** The stream sequence of a delivery string `s<seq>d<n>…`, or undefined. */
export function deliverySeq(delivery: string): number | undefined {
  const m = /^s(\d+)d\d+/.exec(delivery);
  return m ? Number(m[1]) : undefined;
}

export function leaseStep(last: LoggedEntry | undefined, me: Claimant): LeaseStep {
  if (!last) return { kind: 'take', expectSeq: 0 };
  const e = last.entry;
  switch (e.type) {
    case 'step.completed':
    case 'step.failed':
      return { kind: 'done', why: `the task already has its result (${e.type})` };
    case 'step.parked':
      return { kind: 'take', expectSeq: last.seq };
    case 'step.revoked':
      return e.inFlight ? { kind: 'close', expectSeq: last.seq, why: `revoked while held by ${e.owner ?? 'an executor'}: ${e.reason}` } : { kind: 'done', why: `the task was revoked: ${e.reason}` };
    case 'step.started': {
      if (e.owner === me.owner && e.delivery === me.delivery) return { kind: 'mine', seq: last.seq };
      const held = deliverySeq(e.delivery);
      return { kind: 'ask', owner: e.owner, seq: last.seq, sameMessage: held !== undefined && held === deliverySeq(me.delivery) };
    }
  }
}

/** How a live owner answered (see liveness.ts). */
export type OwnerAnswer = 'holding' | 'not-holding' | 'gone' | 'unresponsive';

export type AfterAsk =
  | { kind: 'take'; expectSeq: number; takeover: { from: string; why: string } }
  /** The owner may still be working: hand this delivery back and look again later. */
  | { kind: 'wait'; why: string }
  /** A second message for a task another delivery holds: that delivery finishes it (or is rescued). */
  | { kind: 'drop'; why: string };

/**
 * A lease is taken over only when its owner is gone (its connection closed: no responders) or says it
 * no longer holds the task. An owner that does not answer in time may only be slow, so the delivery
 * waits. A different message for a held task is dropped: the holder's own message is what finishes the
 * task, or is handed back by the rescuer if its holder dies, so nothing is lost by acknowledging this one.
 */
export function afterAsk(step: Extract<LeaseStep, { kind: 'ask' }>, answer: OwnerAnswer): AfterAsk {
  if (answer === 'gone') return { kind: 'take', expectSeq: step.seq, takeover: { from: step.owner, why: 'its executor is gone (no responders)' } };
  if (answer === 'not-holding') return { kind: 'take', expectSeq: step.seq, takeover: { from: step.owner, why: 'its executor no longer holds the task' } };
  if (!step.sameMessage) return { kind: 'drop', why: `${step.owner} holds the task through another message (${answer})` };
  return { kind: 'wait', why: answer === 'holding' ? `${step.owner} is still working on it` : `${step.owner} did not answer in time; it may only be slow` };
}
