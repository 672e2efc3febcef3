import { ApprovalRequest, type ApprovalRequestInput } from '@pipewright/contracts';

let n = 0;

/** A valid approval request for a tool call, with a schema for its arguments. */
export function request(over: Partial<ApprovalRequestInput> = {}): ApprovalRequest {
  const runId = over.runId ?? `r${Date.now().toString(36)}${++n}`;
  return ApprovalRequest.parse({
    schemaVersion: 1,
    approvalId: `${runId}:pay:1`,
    runId,
    stepId: 'pay',
    action: { kind: 'tool', tool: 'pay_invoice', arguments: { invoice: 'INV-7', amountUsd: 40 } },
    argumentsSchema: { type: 'object', properties: { invoice: { type: 'string' }, amountUsd: { type: 'number', maximum: 100 } }, required: ['invoice', 'amountUsd'], additionalProperties: false },
    reason: 'tool pay_invoice requires approval',
    requestedAt: new Date().toISOString(),
    ...over,
  });
}
