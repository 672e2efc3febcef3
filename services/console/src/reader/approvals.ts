import type { ApprovalView, RunEvent } from '@pipewright/contracts';

/** Who decides when nobody did in time (the approver's name for its own timeout decisions). */
const TIMEOUT_DECIDER = 'timeout';

/** The run's approvals, from its events: asked, escalated, decided (oldest first). */
export function approvalsOf(events: readonly RunEvent[]): ApprovalView[] {
  const byId = new Map<string, ApprovalView>();
  for (const e of events) {
    if (e.type === 'approval.requested') byId.set(e.approvalId, { approvalId: e.approvalId, stepId: e.stepId, reason: e.reason, requestedAt: e.at, status: 'pending' });
    const a = 'approvalId' in e ? byId.get(e.approvalId) : undefined;
    if (!a) continue;
    if (e.type === 'approval.escalated' && a.status === 'pending') a.status = 'escalated';
    if (e.type === 'approval.decided') {
      a.status = e.by === TIMEOUT_DECIDER ? 'timed_out' : e.decision;
      a.decidedBy = e.by;
      a.decidedAt = e.at;
      if (e.reason !== undefined) a.comment = e.reason;
    }
  }
  return [...byId.values()];
}
