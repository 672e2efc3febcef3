import { DeliverPolicy, type JetStreamClient } from '@nats-io/jetstream';
import { parseJsonBounded, RunEvent, streams, subjects, type Decision } from '@pipewright/contracts';

/** A run's event with its PW_EVENTS sequence (an SSE id, and what `$result` references point at). */
export interface SeqEvent {
  seq: number;
  event: RunEvent;
}

/** Decodes one stored event; what is not a valid RunEvent is skipped by the callers. */
export function decodeEvent(text: string): RunEvent | undefined {
  const json = parseJsonBounded(text);
  if (!json.ok) return undefined;
  const parsed = RunEvent.safeParse(json.value);
  return parsed.success ? parsed.data : undefined;
}

/**
 * Every event of a run stored so far, in order: an ordered consumer from the run's first event to the
 * last one stored when it started (it knows how many from the consumer's creation).
 */
export async function readRunEvents(js: JetStreamClient, runId: string): Promise<SeqEvent[]> {
  const consumer = await js.consumers.get(streams.events.name, { filter_subjects: [subjects.runEvents(runId)], deliver_policy: DeliverPolicy.All });
  const out: SeqEvent[] = [];
  let left = (await consumer.info(true)).num_pending;
  if (left === 0) return out;
  const messages = await consumer.fetch({ max_messages: left });
  for await (const m of messages) {
    const event = decodeEvent(m.string());
    if (event) out.push({ seq: m.seq, event });
    left = m.info.pending;
    if (left === 0) break;
  }
  return out;
}

/** The run's decision trail: the decisions its planner events carry, by sequence number (a replayed event counted once). */
export function decisionTrail(events: readonly RunEvent[]): Decision[] {
  const bySeq = new Map<number, Decision>();
  for (const e of events) for (const d of 'decisions' in e ? (e.decisions ?? []) : []) bySeq.set(d.seq, d);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}
