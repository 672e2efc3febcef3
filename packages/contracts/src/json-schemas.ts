import { z } from 'zod';
import { ApprovalDecision, ApprovalEscalated, ApprovalRequest } from './approval.js';
import { BudgetAck, BudgetCommitRequest, BudgetReleaseRequest, BudgetReserveReply, BudgetReserveRequest, BudgetStatusReply, BudgetStatusRequest } from './budget.js';
import { RunEvent } from './events.js';
import { PipelineSpec } from './pipeline.js';
import { CancelRequest, RunDeadlineTimer, RunRequest } from './run-request.js';
import { RerunRequest, ResumeRequest } from './run-control.js';
import { RunWebhook } from './api/webhook.js';
import { StepCommand, StepResult, ToolCommand } from './step.js';
import { ToolDescription, ToolRegistration, ToolReply, ToolRequest } from './tool.js';

/**
 * The messages whose JSON Schema is published for publishers in other languages. Schemas describe the
 * input side (fields with defaults are optional), which is what a publisher must produce.
 */
export const publishedSchemas: Readonly<Record<string, z.ZodType>> = {
  'pipeline-spec': PipelineSpec,
  'run-request': RunRequest,
  'cancel-request': CancelRequest,
  'resume-request': ResumeRequest,
  'rerun-request': RerunRequest,
  'run-webhook': RunWebhook,
  'run-deadline-timer': RunDeadlineTimer,
  'run-event': RunEvent,
  'step-command': StepCommand,
  'tool-command': ToolCommand,
  'step-result': StepResult,
  'budget-reserve-request': BudgetReserveRequest,
  'budget-reserve-reply': BudgetReserveReply,
  'budget-commit-request': BudgetCommitRequest,
  'budget-release-request': BudgetReleaseRequest,
  'budget-ack': BudgetAck,
  'budget-status-request': BudgetStatusRequest,
  'budget-status-reply': BudgetStatusReply,
  'approval-request': ApprovalRequest,
  'approval-decision': ApprovalDecision,
  'approval-escalated': ApprovalEscalated,
  'tool-request': ToolRequest,
  'tool-reply': ToolReply,
  'tool-description': ToolDescription,
  'tool-registration': ToolRegistration,
};

/** Renders one published schema as the JSON text that is committed under `schemas/`. */
export function renderJsonSchema(name: string, schema: z.ZodType): string {
  const doc = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' });
  const withId = { $id: `https://pipewright.dev/schemas/${name}.json`, title: name, ...doc };
  return `${JSON.stringify(withId, null, 2)}\n`;
}
