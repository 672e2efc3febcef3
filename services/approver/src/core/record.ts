import type { ApprovalRequest } from '@pipewright/contracts';
import type { ApprovalRecord, AuditEntry } from '../store/types.js';

/**
 * A new pending approval. The deadline counts from `requestedAt` (the planner's clock), so a request
 * that waited in the queue while the approver was down does not get extra time.
 */
export function newRecord(request: ApprovalRequest, now: Date, traceparent: string | undefined): { record: ApprovalRecord; audit: AuditEntry } {
  const deadlineAt = request.timeoutMs !== undefined ? new Date(Date.parse(request.requestedAt) + request.timeoutMs).toISOString() : undefined;
  const record: ApprovalRecord = {
    approvalId: request.approvalId,
    request,
    status: 'pending',
    receivedAt: now.toISOString(),
    ...(deadlineAt !== undefined ? { deadlineAt } : {}),
    published: false,
    notified: false,
    ...(traceparent !== undefined ? { traceparent } : {}),
  };
  const audit: AuditEntry = {
    approvalId: request.approvalId,
    entryId: 'requested',
    at: record.receivedAt,
    actor: 'planner',
    channel: 'system',
    action: 'requested',
    reason: request.reason,
    ...(request.action.arguments !== undefined ? { after: request.action.arguments } : {}),
  };
  return { record, audit };
}
