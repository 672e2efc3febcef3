import { msgIds, SCHEMA_VERSION, subjects, type Decision, type RunDecided } from '@pipewright/contracts';
import type { Outgoing } from './events.js';

/** Planner events that carry the decisions of their transition. */
const CARRIERS: ReadonlySet<string> = new Set(['run.started', 'run.resumed', 'step.dispatched', 'run.finished', 'approval.requested']);

/**
 * The decision trail travels on the events a transition publishes anyway: the first planner event of
 * the transition carries all its decisions; a transition that publishes none (an agent's next turn, a
 * tool call) publishes a `run.decided` event for them. So a transition costs no write for its trail,
 * and the trail is the run's events in order of `seq`.
 */
export function attachDecisions(runId: string, at: string, messages: readonly Outgoing[], decisions: readonly Decision[]): Outgoing[] {
  if (decisions.length === 0) return [...messages];
  const i = messages.findIndex((m) => !m.append && CARRIERS.has((m.payload as { type?: string } | null)?.type ?? ''));
  if (i >= 0) {
    const out = [...messages];
    const m = out[i]!;
    out[i] = { ...m, payload: { ...(m.payload as object), decisions } };
    return out;
  }
  const event: RunDecided = { schemaVersion: SCHEMA_VERSION, type: 'run.decided', runId, at, decisions: [...decisions] };
  return [...messages, { subject: subjects.runEvent(runId, 'run.decided'), msgId: msgIds.event(runId, 'run.decided', String(decisions[0]!.seq)), payload: event }];
}
