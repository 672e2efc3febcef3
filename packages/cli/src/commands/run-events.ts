import { DeliverPolicy, type JetStreamClient } from '@nats-io/jetstream';
import { Decision, RunEvent, streams, subjects } from '@pipewright/contracts';

/** How long a read of a run's events waits for the next one before it counts the run's log as read. */
const IDLE_MS = 2_000;

/**
 * Every event of a run stored so far, in order (an ordered consumer from the first; it stops at the
 * last message pending when it started reading).
 */
export async function readRunEvents(js: JetStreamClient, runId: string): Promise<RunEvent[]> {
  const consumer = await js.consumers.get(streams.events.name, { filter_subjects: [subjects.runEvents(runId)], deliver_policy: DeliverPolicy.All });
  const out: RunEvent[] = [];
  for (;;) {
    const m = await consumer.next({ expires: IDLE_MS });
    if (!m) return out;
    const parsed = RunEvent.safeParse(m.json());
    if (parsed.success) out.push(parsed.data);
    if (m.info.pending === 0) return out;
  }
}

/** The run's decision trail: the decisions its planner events carry, by sequence number (a replayed event counted once). */
export function decisionTrail(events: readonly RunEvent[]): Decision[] {
  const bySeq = new Map<number, Decision>();
  for (const e of events) for (const d of ('decisions' in e ? (e.decisions ?? []) : [])) bySeq.set(d.seq, Decision.parse(d));
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}
