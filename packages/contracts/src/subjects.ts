/**
 * Every name on the bus. Subjects are built here and nowhere else, so a rename is one change.
 * Streams are listed with what they capture; the kit creates them idempotently at start-up.
 */

export const SUBJECT_PREFIX = 'pw' as const;

export const subjects = {
  /** Run requests: the public entry point (stream PW_RUNS, work queue). */
  runSubmit: 'pw.runs.submit',
  runCancel: 'pw.runs.cancel',
  /**
   * A run's deadline timer, published by the planner when the run starts (stream PW_RUNS). The
   * planner's consumer holds it back (delayed nak) until the deadline, so an idle run — one waiting
   * for a person or a provider — still ends as `timed_out` on time, across planner crashes.
   */
  runDeadline: 'pw.runs.deadline',
  /** Step commands for one pool (stream PW_STEPS, work queue). */
  stepDispatch: (pool: string) => `pw.steps.${pool}.dispatch`,
  /** Tool calls for one pool's executors (stream PW_STEPS, work queue, a consumer of its own). */
  toolDispatch: (pool: string) => `pw.steps.${pool}.tool`,
  /** Every event of one run (stream PW_EVENTS, limits retention). `type` is e.g. `step.completed`. */
  runEvent: (runId: string, type: string) => `pw.events.${runId}.${type}`,
  /** All events of one run, for `watch`. */
  runEvents: (runId: string) => `pw.events.${runId}.>`,
  allEvents: 'pw.events.>',
  approvalRequest: 'pw.approvals.request',
  /** Messages that could not be decoded or exhausted their deliveries, per service. */
  dlq: (service: string) => `pw.dlq.${service}`,
  /** Budget request-reply endpoints: core NATS, captured by no stream. */
  budget: {
    reserve: 'pw.budget.reserve',
    commit: 'pw.budget.commit',
    release: 'pw.budget.release',
    status: 'pw.budget.status',
  },
  /** Tools answer requests here (any language). */
  tool: (name: string) => `pw.tools.${name}`,
  /** A tool's description (JSON Schema of its input and output). */
  toolDescribe: (name: string) => `pw.tools.${name}.describe`,
  /** Queue group of a tool's replicas. */
  toolQueue: (name: string) => `tool-${name}`,
} as const;

export interface StreamDef {
  readonly name: string;
  readonly subjects: readonly string[];
  readonly retention: 'workqueue' | 'limits';
  /** Messages older than this are removed; 0 keeps them until consumed (work queues). */
  readonly maxAgeMs: number;
  /** Window in which a repeated Nats-Msg-Id is dropped as a duplicate. */
  readonly duplicateWindowMs: number;
}

const DAY_MS = 86_400_000;
const DEDUPE_WINDOW_MS = 120_000;

export const streams = {
  runs: { name: 'PW_RUNS', subjects: ['pw.runs.>'], retention: 'workqueue', maxAgeMs: 7 * DAY_MS, duplicateWindowMs: DEDUPE_WINDOW_MS },
  steps: { name: 'PW_STEPS', subjects: ['pw.steps.>'], retention: 'workqueue', maxAgeMs: 7 * DAY_MS, duplicateWindowMs: DEDUPE_WINDOW_MS },
  events: { name: 'PW_EVENTS', subjects: ['pw.events.>'], retention: 'limits', maxAgeMs: 7 * DAY_MS, duplicateWindowMs: DEDUPE_WINDOW_MS },
  approvals: { name: 'PW_APPROVALS', subjects: ['pw.approvals.>'], retention: 'workqueue', maxAgeMs: 30 * DAY_MS, duplicateWindowMs: DEDUPE_WINDOW_MS },
  dlq: { name: 'PW_DLQ', subjects: ['pw.dlq.>'], retention: 'limits', maxAgeMs: 30 * DAY_MS, duplicateWindowMs: DEDUPE_WINDOW_MS },
} as const satisfies Record<string, StreamDef>;

/** Durable consumer names. One per pool for executors: every replica of the pool pulls from it. */
export const consumers = {
  plannerRuns: 'planner-runs',
  plannerEvents: 'planner-events',
  plannerDeadlines: 'planner-deadlines',
  executor: (pool: string) => `executor-${pool}`,
  executorTools: (pool: string) => `executor-${pool}-tools`,
  approver: 'approver-requests',
} as const;

/** Event types the planner consumes from PW_EVENTS (its own events it does not need back). */
export const PLANNER_EVENT_TYPES = ['step.completed', 'step.failed', 'step.parked', 'approval.decided'] as const;

/** Header names. */
export const headers = {
  msgId: 'Nats-Msg-Id',
  traceparent: 'traceparent',
  tracestate: 'tracestate',
  /** On DLQ copies: why the message was refused, and where it came from. */
  dlqReason: 'Pw-Dlq-Reason',
  dlqSubject: 'Pw-Dlq-Subject',
  dlqStream: 'Pw-Dlq-Stream',
  dlqSeq: 'Pw-Dlq-Seq',
  /** On a message republished from a stale outbox: the receiver must check for earlier handling. */
  replay: 'Pw-Replay',
  /** HTTP header the executor sends with every model call: `<runId>:<stepId>`, for provider-side dedupe and tests. */
  idempotencyKey: 'Idempotency-Key',
  /** HTTP header: the call number within one step dispatch (1 = first try). */
  callAttempt: 'X-Pw-Call-Attempt',
} as const;

/** Deterministic message ids: a republish after a crash is dropped by JetStream as a duplicate. */
export const msgIds = {
  submit: (runId: string) => `submit:${runId}`,
  command: (runId: string, stepId: string, attempt: number) => `${runId}:${stepId}:${attempt}`,
  /**
   * A step, or one turn of an agent step (`<stepId>=t<turn>`): the part of a msg id or key that names
   * the task. `=` is outside the step-id alphabet, so no step id can collide with a turn.
   */
  task: (stepId: string, turn?: number) => (turn === undefined ? stepId : `${stepId}=t${turn}`),
  event: (runId: string, type: string, key: string) => `${runId}:${type}:${key}`,
} as const;

/** KV buckets of the embedded store. */
export const buckets = {
  runs: 'pw_runs',
  steps: 'pw_steps',
  decisions: 'pw_decisions',
  /** Receipts of tool calls by idempotency key (effects once). */
  toolReceipts: 'pw_tool_receipts',
} as const;
