// The public surface of @pipewright/contracts: every message, the pipeline spec, and every name on the bus.
export {
  SCHEMA_VERSION,
  SchemaVersion,
  RunId,
  StepId,
  PoolName,
  TenantId,
  Timestamp,
  Usage,
  ZERO_USAGE,
  addUsage,
  ModelTarget,
  ModelRef,
  JsonSchemaDoc,
  ErrorInfo,
  ValidationIssue,
} from './common.js';
export { RetryPolicy, DEFAULT_RETRY_POLICY, DEFAULT_TIMEOUT_MS } from './retry-policy.js';
export type { RetryPolicyInput } from './retry-policy.js';
export {
  LlmStep,
  AgentStep,
  MapStep,
  MapItemStep,
  SignalStep,
  EndStep,
  SubPipelineStep,
  ToolDecl,
  Step,
  PipelineDefaults,
  RunLimits,
  PipelineSpec,
  RunBudget,
  BudgetPolicy,
  ApprovalPolicy,
  effectiveApproval,
  isModelStep,
  itemStepId,
  parseItemStepId,
  looksLikeItemId,
  stepSpecOf,
  resolvedTool,
  MAX_MAP_ID_LENGTH,
} from './pipeline.js';
export type { PipelineSpecInput, EffectiveApproval, ModelStep, ResolvedTool } from './pipeline.js';
export { ValuePath, Comparison, Condition, comparisonsOf, compare, evaluateCondition } from './condition.js';
export { checkPipeline, checkRunInput, findCycle, ancestorSets, templatesOf, MAX_PIPELINE_DEPTH } from './pipeline-check.js';
export { checkLimits, DEFAULT_MAX_OUTPUT_TOKENS } from './pipeline-limits.js';
export type { BudgetOverrides } from './pipeline-limits.js';
export { asSubmitted, resolveTools, toolsNamedBy, toolsNamedDeep } from './tool-resolution.js';
export type { RegistryEntry, ToolResolution } from './tool-resolution.js';
export { outputSchemaOf } from './pipeline-refs.js';
export { SignalName, SignalRequest, ParentRef, MAX_SIGNAL_PAYLOAD_BYTES, MAX_SIGNAL_PAYLOAD_DEPTH, signalPayloadProblem, childRunId } from './signal.js';
export type { SignalRequestInput } from './signal.js';
export type { PipelineCheck } from './pipeline-check.js';
export { parseTemplate, renderTemplate, lookup, TemplateError } from './template.js';
export type { TemplateRef, TemplateParse } from './template.js';
export { SchemaValidator, schemaValidator } from './schema-validator.js';
export { formatPath, fromZodError, describeIssues } from './issues.js';
export { MAX_JSON_DEPTH, MAX_VALUE_DEPTH, jsonDepth, parseJsonBounded, shallowFields } from './limits.js';
export type { BoundedJson } from './limits.js';
export { RunRequest, CancelRequest, RunDeadlineTimer } from './run-request.js';
export type { RunRequestInput } from './run-request.js';
export { ResumeRequest, RerunRequest, ResumeLimits, RESUMABLE_STATUSES } from './run-control.js';
export { requestDigest, canonicalJson } from './request-digest.js';
export type { ResumeRequestInput, RerunRequestInput } from './run-control.js';
export {
  Labels,
  RunSummary,
  RunListQuery,
  RunListPage,
  StepView,
  ApprovalView,
  RunDetail,
  SubmitAccepted,
  CancelBody,
  CancelByLabelBody,
  CancelAccepted,
  ResumeBody,
  ResumeAccepted,
  RerunBody,
  RerunAccepted,
  SignalBody,
  SignalAccepted,
  BatchStats,
  ApiError,
} from './api/runs.js';
export { RunWebhook } from './api/webhook.js';
export { ToolList } from './api/tools.js';
export { ChatMessage, ToolCall, LlmCall, StepCommand, ToolCommand, AgentAction, RepairRung, StepCompleted, StepFailed, StepResult } from './step.js';
export { RunStatus, TERMINAL_STATUSES, StepStatus, StepState, RunState, Decision, PendingApproval, OutboxEntry, OutboxMessage } from './run-state.js';
export { RunStarted, RunResumed, RunRejected, RunDecided, StepDispatched, StepParked, RunFinished, RunEvent, ApprovalRequested } from './events.js';
export { TaskKind, TaskId, taskId, taskIdOf, Spend, StepStarted, StepRevoked, TaskSpent } from './task.js';
export type { TaskRef } from './task.js';
export { ModelPrice, NANO_PER_USD, ZERO_AMOUNT, reservationAmount, usageCost, nanoToUsd, usdToNano, addAmount, roundUsd } from './money.js';
export type { Amount } from './money.js';
export type { RunEventType } from './events.js';
export {
  ReservationId,
  BudgetRunLimits,
  BudgetReserveRequest,
  BudgetErrorReply,
  BudgetLimitName,
  BudgetGranted,
  BudgetDenied,
  BudgetReserveReply,
  BudgetCommitRequest,
  BudgetReleaseRequest,
  ReservationState,
  BudgetCommitted,
  BudgetReleased,
  BudgetCommitReply,
  BudgetReleaseReply,
  BudgetAck,
  BudgetScope,
  BudgetStatusRequest,
  BudgetStatus,
  BudgetStatusReply,
} from './budget.js';
export type { BudgetReserveRequestInput } from './budget.js';
export {
  ApprovalId,
  ApprovalOnTimeout,
  ProposedAction,
  BudgetLimits,
  BudgetAskContext,
  ApprovalEscalation,
  ApprovalRequest,
  ApprovalChannel,
  ApprovalDecision,
  ApprovalEscalated,
  approvalMsgIds,
} from './approval.js';
export type { ApprovalRequestInput } from './approval.js';
export { ToolName, ToolCallId, ToolRequest, ToolReply, ToolSuccess, ToolFailure, ToolError, ToolDescription, ToolRegistration, TOOL_ERROR_CODES, toolIdempotencyKey, toolSubjects, toolInputDigest, toolRegistration } from './tool.js';
export type { ToolRequestInput } from './tool.js';
export { subjects, streams, consumers, headers, msgIds, buckets, PLANNER_EVENT_SUBJECTS, PLANNER_CHILD_SUBJECTS, BUDGET_SPEND_SUBJECTS, SUBJECT_PREFIX } from './subjects.js';
export type { StreamDef, TaskLogType } from './subjects.js';
export { publishedSchemas, renderJsonSchema } from './json-schemas.js';
export { ClaimRef, CLAIM_REF_SCHEME, isClaimRef, parseClaimUrl, claimUrl } from './claim-check.js';
