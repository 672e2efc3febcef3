import { SCHEMA_VERSION, schemaValidator, type ApprovalChannel, type ApprovalDecision, type ValidationIssue } from '@pipewright/contracts';
import type { ApprovalRecord, AuditEntry } from '../store/types.js';

/** What a person asks for, from any channel. */
export type DecisionInput =
  | { kind: 'approve'; comment?: string }
  | { kind: 'reject'; reason: string }
  /** Approve with these arguments instead of the proposed ones (validated against the request's argumentsSchema). */
  | { kind: 'edit'; arguments: unknown; comment?: string };

export interface Actor {
  /** A token's name, `slack:<user id>`, or `timeout`. */
  readonly name: string;
  readonly channel: ApprovalChannel;
}

/** The moment a plan is made, and a unique suffix for audit entries that may happen many times. */
export interface PlanContext {
  readonly now: Date;
  readonly nonce: string;
}

export type DecisionPlan =
  | { kind: 'decide'; next: ApprovalRecord; decision: ApprovalDecision; audit: AuditEntry }
  /** Already decided: `same` when the request repeats the recorded decision (a second click). */
  | { kind: 'already'; same: boolean; audit: AuditEntry }
  | { kind: 'invalid'; issues: ValidationIssue[] };

const VERDICT = { approve: 'approved', reject: 'rejected', edit: 'edited' } as const;

/**
 * Pure: what deciding `record` with `input` means. The caller writes `next` with compare-and-set on
 * the version it read, so of two concurrent decisions exactly one is stored; the other re-reads and
 * gets `already`.
 */
export function planDecision(record: ApprovalRecord, input: DecisionInput, actor: Actor, ctx: PlanContext): DecisionPlan {
  const at = ctx.now.toISOString();
  if (record.status === 'decided' && record.decision) {
    const same = sameDecision(record.decision, input);
    const audit: AuditEntry = {
      approvalId: record.approvalId,
      entryId: `repeat-${ctx.nonce}`,
      at,
      actor: actor.name,
      channel: actor.channel,
      action: 'repeated',
      detail: `${VERDICT[input.kind]} asked after the approval was ${record.decision.decision} by ${record.decision.by}`,
    };
    return { kind: 'already', same, audit };
  }
  if (input.kind === 'reject' && input.reason.trim() === '') return { kind: 'invalid', issues: [{ path: 'reason', message: 'a rejection needs a reason' }] };
  if (input.kind === 'edit') {
    const issues = checkArguments(record, input.arguments);
    if (issues.length > 0) return { kind: 'invalid', issues };
  }
  const reason = input.kind === 'reject' ? input.reason.trim() : input.comment?.trim() || undefined;
  return decideAs(record, VERDICT[input.kind], actor, at, reason, input.kind === 'edit' ? { arguments: input.arguments } : {});
}

/** Builds the decided record, its event and its audit entry (also used for timeouts). */
export function decideAs(
  record: ApprovalRecord,
  verdict: ApprovalDecision['decision'],
  actor: Actor,
  at: string,
  reason: string | undefined,
  edit: { arguments?: unknown },
): Extract<DecisionPlan, { kind: 'decide' }> {
  const req = record.request;
  const decision: ApprovalDecision = {
    schemaVersion: SCHEMA_VERSION,
    type: 'approval.decided',
    approvalId: record.approvalId,
    runId: req.runId,
    stepId: req.stepId,
    decision: verdict,
    by: actor.name,
    via: actor.channel,
    ...(reason !== undefined ? { reason } : {}),
    ...('arguments' in edit ? { arguments: edit.arguments } : {}),
    at,
  };
  const { deadlineAt: _passed, ...rest } = record;
  const next: ApprovalRecord = { ...rest, status: 'decided', decision, published: false };
  const audit: AuditEntry = {
    approvalId: record.approvalId,
    entryId: 'decided',
    at,
    actor: actor.name,
    channel: actor.channel,
    action: verdict,
    ...(reason !== undefined ? { reason } : {}),
    ...('arguments' in edit ? { before: req.action.arguments, after: edit.arguments } : {}),
  };
  return { kind: 'decide', next, decision, audit };
}

/** Field-named problems with edited arguments; none when they may replace the proposed ones. */
export function checkArguments(record: ApprovalRecord, args: unknown): ValidationIssue[] {
  // A step's output is accepted or rejected as it is; a tool call's arguments and a budget request's
  // limits may be edited, within the request's argumentsSchema.
  if (record.request.action.kind === 'step') return [{ path: 'arguments', message: 'only a tool call or a budget request has arguments to edit' }];
  if (args === undefined) return [{ path: 'arguments', message: 'is required' }];
  const schema = record.request.argumentsSchema;
  return schema ? schemaValidator.validate(schema, args, 'arguments') : [];
}

function sameDecision(d: ApprovalDecision, input: DecisionInput): boolean {
  if (d.decision !== VERDICT[input.kind]) return false;
  return input.kind !== 'edit' || JSON.stringify(d.arguments) === JSON.stringify(input.arguments);
}
