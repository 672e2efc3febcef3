import { SCHEMA_VERSION, type ApprovalEscalated } from '@pipewright/contracts';
import type { ApprovalRecord, AuditEntry } from '../store/types.js';
import { decideAs, type DecisionPlan } from './decide.js';

export type TimeoutPlan =
  | { kind: 'none' }
  | Extract<DecisionPlan, { kind: 'decide' }>
  /** First deadline of an `escalate` approval: notify `to`, wait once more, then reject. */
  | { kind: 'escalate'; next: ApprovalRecord; event: ApprovalEscalated; audit: AuditEntry };

const TIMEOUT_ACTOR = { name: 'timeout', channel: 'timeout' } as const;

/** Pure: what a passed deadline means for `record` at `now` (`none` if it has not passed, or was decided). */
export function planTimeout(record: ApprovalRecord, now: Date): TimeoutPlan {
  if (record.status !== 'pending' || record.deadlineAt === undefined || Date.parse(record.deadlineAt) > now.getTime()) return { kind: 'none' };
  const req = record.request;
  const at = now.toISOString();
  const waited = `no decision within ${req.timeoutMs ?? 0} ms`;
  if (req.onTimeout === 'approve') return decideAs(record, 'approved', TIMEOUT_ACTOR, at, `${waited}; approved by policy`, {});
  if (req.onTimeout === 'reject' || !req.escalation) return decideAs(record, 'rejected', TIMEOUT_ACTOR, at, `${waited}; rejected by policy`, {});
  if (record.escalation) return decideAs(record, 'rejected', TIMEOUT_ACTOR, at, `no decision after escalation to ${record.escalation.to}; rejected`, {});

  const to = req.escalation.to;
  const deadlineAt = new Date(now.getTime() + (req.escalation.timeoutMs ?? req.timeoutMs ?? 0)).toISOString();
  const next: ApprovalRecord = { ...record, escalation: { to, at }, deadlineAt };
  const event: ApprovalEscalated = { schemaVersion: SCHEMA_VERSION, type: 'approval.escalated', approvalId: record.approvalId, runId: req.runId, stepId: req.stepId, to, deadlineAt, at };
  const audit: AuditEntry = { approvalId: record.approvalId, entryId: 'escalated', at, actor: 'timeout', channel: 'timeout', action: 'escalated', reason: waited, detail: `escalated to ${to}; rejected if undecided by ${deadlineAt}` };
  return { kind: 'escalate', next, event, audit };
}
