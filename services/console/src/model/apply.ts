import type { Entry } from './entry.js';
import { isFinished } from './entry.js';
import type { IndexEvent } from './events.js';

/**
 * How one event changes a run's entry (pure: no clock, no IO). The planner owns run state; this is
 * its shadow, close enough for a list: the authoritative state is the checkpoint (`GET /runs/{id}`).
 * Returns whether anything a summary shows changed.
 */
export function applyToEntry(e: Entry, ev: IndexEvent): boolean {
  const finished = isFinished(e);
  // After the end only a resume (or a repeated run.finished, e.g. after a resume) changes a run: late
  // task results of revoked tasks are already counted in run.finished's cost.
  if (finished && ev.type !== 'run.resumed' && ev.type !== 'run.finished') return false;
  for (const d of ev.decisions ?? []) {
    if (d.action === 'complete-step') for (const s of d.stepIds) e.succeeded.add(s);
    if (d.action === 'resume') unpark(e);
  }
  switch (ev.type) {
    case 'run.started':
      // A repeated run.started (a republished outbox) changes nothing.
      break;
    case 'run.resumed':
      e.status = 'running';
      delete e.reason;
      delete e.finishedAt;
      delete e.finishedAtMs;
      e.succeeded = new Set(e.stepIds.filter((s) => !ev.steps.includes(s)));
      e.approvals.clear();
      e.parked.clear();
      break;
    case 'run.finished':
      e.status = ev.status;
      e.finishedAt = ev.at;
      e.finishedAtMs = Date.parse(ev.at);
      if (ev.reason !== undefined) e.reason = ev.reason;
      else delete e.reason;
      e.costUsd = ev.costUsd;
      e.totalTokens = ev.usage.totalTokens;
      e.succeededCount = ev.status === 'succeeded' ? e.stepIds.length : ev.partial ? Object.keys(ev.partial).length : e.succeeded.size;
      e.succeeded = new Set();
      e.approvals.clear();
      e.parked.clear();
      break;
    case 'step.completed':
    case 'step.failed':
    case 'step.parked':
      e.costUsd += ev.costUsd ?? 0;
      e.totalTokens += ev.usage?.totalTokens ?? 0;
      if (ev.type === 'step.parked') {
        e.parked.add(ev.stepId);
        e.status = 'paused';
      } else if (e.parked.delete(ev.stepId) && e.parked.size === 0) unpark(e);
      break;
    case 'approval.requested':
      e.approvals.add(ev.approvalId);
      if (e.status === 'running' || e.status === 'queued') e.status = 'waiting_approval';
      break;
    case 'approval.decided':
      e.approvals.delete(ev.approvalId);
      if (e.approvals.size === 0 && e.status === 'waiting_approval') e.status = 'running';
      break;
    case 'run.rejected':
    case 'run.decided':
    case 'step.dispatched':
      break;
  }
  e.updatedAt = ev.at > e.updatedAt ? ev.at : e.updatedAt;
  return true;
}

/** No step parked any more: the run goes on, or waits for a person if one was asked. */
function unpark(e: Entry): void {
  e.parked.clear();
  if (e.status === 'paused') e.status = e.approvals.size > 0 ? 'waiting_approval' : 'running';
}
