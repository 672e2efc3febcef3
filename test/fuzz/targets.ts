import {
  ApprovalDecision,
  ApprovalRequest,
  BudgetCommitRequest,
  BudgetReleaseRequest,
  BudgetReserveRequest,
  BudgetStatusRequest,
  CancelRequest,
  parseJsonBounded,
  RunRequest,
  StepCommand,
  StepCompleted,
  StepFailed,
  StepParked,
  StepRevoked,
  subjects,
  TaskSpent,
  ToolCommand,
  ToolRequest,
  toolSubjects,
} from '@pipewright/contracts';
import { z } from 'zod';

/**
 * What the fuzz suite sends bad messages to: every subject a service consumes from a stream (with the
 * consumers that must each refuse and record it) and every request-reply endpoint (which must answer
 * with an error). Templates look like the real messages (ids, types, versions) so that a broken one is
 * broken in one place; a bad payload that a consumer's schema would accept is left out (see `refusedBy`).
 */

const NOW = '2026-01-01T00:00:00.000Z';
const model = { provider: 'default', model: 'sim-small' };
const usage = { inputTokens: 1, outputTokens: 1, totalTokens: 2 };

export interface StreamTarget {
  name: string;
  subject: string;
  /** The DLQ of the service that must refuse and copy each bad message (`pw.dlq.<service>`). */
  dlqService: string;
  /** The schema that service decodes with: a payload it would accept is not a bad payload. */
  schema: z.ZodType;
  template: Record<string, unknown>;
}

export interface RequestTarget {
  name: string;
  subject: string;
  template: Record<string, unknown>;
  /** The schema the endpoint decodes with: a payload it would accept is not a bad payload. */
  schema: z.ZodType;
  /** Whether a reply is the refusal this endpoint must give (budget: `outcome: error`; tools: `ok: false`). */
  refused: (reply: unknown) => boolean;
}

/** The planner's events consumer: any task result or approval decision. */
const PlannerEvent = z.discriminatedUnion('type', [StepCompleted, StepFailed, StepParked, StepRevoked, TaskSpent, ApprovalDecision]);

export const FUZZ_RUN = 'fuzz-run-1';

export const STREAM_TARGETS: readonly StreamTarget[] = [
  {
    name: 'runs.submit',
    subject: subjects.runSubmit,
    dlqService: 'planner',
    schema: RunRequest,
    template: { schemaVersion: 1, runId: FUZZ_RUN, pipeline: { name: 'p', steps: [{ id: 'a', prompt: 'hi' }] }, input: { t: 'x' } },
  },
  { name: 'runs.cancel', subject: subjects.runCancel, dlqService: 'planner', schema: CancelRequest, template: { schemaVersion: 1, runId: FUZZ_RUN, reason: 'fuzz' } },
  {
    name: 'steps.dispatch',
    subject: subjects.stepDispatch('default'),
    dlqService: 'executor',
    schema: StepCommand,
    template: { schemaVersion: 1, runId: FUZZ_RUN, stepId: 'a', attempt: 1, pool: 'default', kind: 'llm', model, messages: [{ role: 'user', content: 'hi' }], maxOutputTokens: 50 },
  },
  {
    name: 'steps.tool',
    subject: subjects.toolDispatch('default'),
    dlqService: 'executor',
    schema: ToolCommand,
    template: { schemaVersion: 1, runId: FUZZ_RUN, stepId: 'a', turn: 1, attempt: 1, pool: 'default', kind: 'tool', tool: 'echo', callId: 'c1', arguments: {}, idempotencyKey: `${FUZZ_RUN}:a:c1`, timeoutMs: 1000 },
  },
  {
    name: 'events.step.completed',
    subject: subjects.taskEvent(FUZZ_RUN, 'step.completed', 'a=1'),
    dlqService: 'planner',
    schema: PlannerEvent,
    template: { schemaVersion: 1, type: 'step.completed', runId: FUZZ_RUN, stepId: 'a', attempt: 1, task: 'llm', at: NOW, model, output: 'x', usage, durationMs: 1 },
  },
  {
    name: 'events.approval.decided',
    subject: subjects.runEvent(FUZZ_RUN, 'approval.decided'),
    dlqService: 'planner',
    schema: PlannerEvent,
    template: { schemaVersion: 1, type: 'approval.decided', approvalId: `${FUZZ_RUN}:a:1`, runId: FUZZ_RUN, stepId: 'a', decision: 'approved', by: 'fuzz', via: 'api', at: NOW },
  },
  {
    name: 'approvals.request',
    subject: subjects.approvalRequest,
    dlqService: 'approver',
    schema: ApprovalRequest,
    template: { schemaVersion: 1, approvalId: `${FUZZ_RUN}:a:1`, runId: FUZZ_RUN, stepId: 'a', kind: 'step', title: 'fuzz', requestedAt: NOW, timeoutMs: 60_000, onTimeout: 'reject' },
  },
];

const budgetRefused = (r: unknown) => (r as { outcome?: unknown }).outcome === 'error';
const budgetBase = { schemaVersion: 1, reservationId: 'fuzz-res-1', runId: FUZZ_RUN };

export const TOOL_NAME = 'fuzz-echo';

export const REQUEST_TARGETS: readonly RequestTarget[] = [
  {
    name: 'budget.reserve',
    subject: subjects.budget.reserve,
    refused: budgetRefused,
    schema: BudgetReserveRequest,
    template: { ...budgetBase, stepId: 'a', tenant: 'default', pipeline: 'p', model, estimatedInputTokens: 10, maxOutputTokens: 10, leaseMs: 60_000 },
  },
  { name: 'budget.commit', subject: subjects.budget.commit, refused: budgetRefused, schema: BudgetCommitRequest, template: { ...budgetBase, tenant: 'default', pipeline: 'p', model, usage } },
  { name: 'budget.release', subject: subjects.budget.release, refused: budgetRefused, schema: BudgetReleaseRequest, template: { ...budgetBase, reason: 'fuzz' } },
  { name: 'budget.status', subject: subjects.budget.status, refused: budgetRefused, schema: BudgetStatusRequest, template: { schemaVersion: 1, scope: 'run', id: FUZZ_RUN } },
  {
    name: 'tools.call',
    subject: toolSubjects.call(TOOL_NAME),
    refused: (r) => (r as { ok?: unknown }).ok === false,
    schema: ToolRequest,
    template: { schemaVersion: 1, tool: TOOL_NAME, callId: 'c1', runId: FUZZ_RUN, stepId: 'a', idempotencyKey: `${FUZZ_RUN}:a:c1`, arguments: { text: 'hi' } },
  },
];

/** Whether a consumer decoding with `schema` refuses these bytes (as kit's consume does: text, bounded parse, schema). */
export function refusedBy(schema: z.ZodType, bytes: Uint8Array): boolean {
  const parsed = parseJsonBounded(new TextDecoder().decode(bytes));
  return !parsed.ok || !schema.safeParse(parsed.value).success;
}
