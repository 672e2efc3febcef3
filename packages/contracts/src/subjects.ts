/**
 * Every name on the bus. Subjects are built here and nowhere else, so a rename is one change.
 * Streams are listed with what they capture; the kit creates them idempotently at start-up.
 */

export const SUBJECT_PREFIX = 'pw' as const;

export const subjects = {
  /** Run requests: the public entry point (stream PW_RUNS, work queue). */
  runSubmit: 'pw.runs.submit',
  runCancel: 'pw.runs.cancel',
  /** Resume a stopped run from where it stopped (see ResumeRequest). */
  runResume: 'pw.runs.resume',
  /** A new run that reuses a finished run's outputs up to a chosen step (see RerunRequest). */
  runRerun: 'pw.runs.rerun',
  /** Signals to runs (SignalRequest): what `signal` steps wait for. */
  runSignal: 'pw.runs.signal',
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
  /** An event of one run (stream PW_EVENTS, limits retention). `type` is e.g. `run.started`. */
  runEvent: (runId: string, type: string) => `pw.events.${runId}.${type}`,
  /**
   * An entry of a task's log: `type` is `step.started|completed|failed|parked|revoked` (see task.ts).
   * The task id is the last token, so one task's entries share the pattern `taskLog` matches.
   */
  taskEvent: (runId: string, type: TaskLogType, task: string) => `pw.events.${runId}.${type}.${task}`,
  /** Every entry of one task's log: what an append's compare-and-set is checked against. */
  taskLog: (runId: string, task: string) => `pw.events.${runId}.step.*.${task}`,
  /** Entries of one type across all runs and tasks (consumer filters, subscriptions). */
  taskEvents: (type: TaskLogType | 'task.spent') => `pw.events.*.${type}.*`,
  /** Spending of a delivery that lost its task: outside the task's log (`task.` not `step.`). */
  taskSpent: (runId: string, task: string) => `pw.events.${runId}.task.spent.${task}`,
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
  /**
   * An executor process's liveness endpoint (core NATS). A lease is live while its owner answers here;
   * "no responders" means the owner's connection is gone, so its tasks may be taken over at once.
   */
  executorPing: (owner: string) => `pw.executors.${owner}.ping`,
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
  /** Window in which a repeated Nats-Msg-Id is dropped as a duplicate (the default; `PW_DEDUPE_WINDOW_MS` overrides it). */
  readonly duplicateWindowMs: number;
  /** Direct gets (any replica answers reads of one message): the task logs are read this way. */
  readonly allowDirect?: boolean;
}

/** The entries of a task's log (see task.ts), in the order they may appear. */
export type TaskLogType = 'step.started' | 'step.parked' | 'step.revoked' | 'step.completed' | 'step.failed';

const DAY_MS = 86_400_000;
const DEDUPE_WINDOW_MS = 120_000;
/**
 * PW_EVENTS holds the task logs (each step's result is its checkpoint) and the decision trail, so it
 * keeps events as long as a run may live (31 days) plus the default retention after it (7 days); the
 * retention sweeper purges a finished run's events with the run.
 */
const EVENTS_MAX_AGE_MS = 38 * DAY_MS;

export const streams = {
  runs: { name: 'PW_RUNS', subjects: ['pw.runs.>'], retention: 'workqueue', maxAgeMs: 7 * DAY_MS, duplicateWindowMs: DEDUPE_WINDOW_MS },
  steps: { name: 'PW_STEPS', subjects: ['pw.steps.>'], retention: 'workqueue', maxAgeMs: 7 * DAY_MS, duplicateWindowMs: DEDUPE_WINDOW_MS },
  events: { name: 'PW_EVENTS', subjects: ['pw.events.>'], retention: 'limits', maxAgeMs: EVENTS_MAX_AGE_MS, duplicateWindowMs: DEDUPE_WINDOW_MS, allowDirect: true },
  approvals: { name: 'PW_APPROVALS', subjects: ['pw.approvals.>'], retention: 'workqueue', maxAgeMs: 30 * DAY_MS, duplicateWindowMs: DEDUPE_WINDOW_MS },
  dlq: { name: 'PW_DLQ', subjects: ['pw.dlq.>'], retention: 'limits', maxAgeMs: 30 * DAY_MS, duplicateWindowMs: DEDUPE_WINDOW_MS },
} as const satisfies Record<string, StreamDef>;

/** Durable consumer names. One per pool for executors: every replica of the pool pulls from it. */
export const consumers = {
  plannerRuns: 'planner-runs',
  plannerEvents: 'planner-events',
  plannerDeadlines: 'planner-deadlines',
  /** The planner's consumers of `pw.runs.resume` and `pw.runs.rerun`. */
  plannerResume: 'planner-runs-resume',
  plannerRerun: 'planner-runs-rerun',
  /** The planner's consumer of `pw.runs.signal`. */
  plannerSignals: 'planner-runs-signal',
  /** The planner's consumer of runs' ends (`run.finished`, `run.rejected`): child runs report to their parents. */
  plannerChildren: 'planner-children',
  /** The budget service's booking of spending from task results. */
  budgetSpend: 'budget-spend',
  executor: (pool: string) => `executor-${pool}`,
  executorTools: (pool: string) => `executor-${pool}-tools`,
  approver: 'approver-requests',
  /** The console's delivery of run-end webhooks (from `run.finished` events). */
  consoleWebhooks: 'console-webhooks',
} as const;

/** What the budget books spending from (PW_EVENTS): every task outcome that carries `spend`. */
export const BUDGET_SPEND_SUBJECTS = [subjects.taskEvents('step.completed'), subjects.taskEvents('step.failed'), subjects.taskEvents('step.parked'), subjects.taskEvents('task.spent')] as const;

/** What the planner consumes from PW_EVENTS: task results, parks and revocations, and approval decisions. */
export const PLANNER_EVENT_SUBJECTS = [
  subjects.taskEvents('step.completed'),
  subjects.taskEvents('step.failed'),
  subjects.taskEvents('step.parked'),
  subjects.taskEvents('step.revoked'),
  subjects.runEvent('*', 'approval.decided'),
] as const;

/** How a child run's end reaches its parent: the planner reads every run's end and keeps those with a `parent`. */
export const PLANNER_CHILD_SUBJECTS = [subjects.runEvent('*', 'run.finished'), subjects.runEvent('*', 'run.rejected')] as const;

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
  /** On a DLQ copy cut to fit the connection's max_payload: `payload` or `payload,headers` (the original headers left out). */
  dlqTruncated: 'Pw-Dlq-Truncated',
  /** The original payload's size in bytes and its sha256 (hex), on every DLQ copy. */
  dlqSize: 'Pw-Dlq-Size',
  dlqSha256: 'Pw-Dlq-Sha256',
  /** On a message republished from a stale outbox: the receiver must check for earlier handling. */
  replay: 'Pw-Replay',
  /**
   * HTTP header the executor sends with every model call: `<runId>:<stepId>` (`:a<attempt>` from the
   * step's second dispatch on, `:t<turn>` for an agent turn), for provider-side dedupe and tests.
   */
  idempotencyKey: 'Idempotency-Key',
  /** HTTP header: the call number within one step dispatch (1 = first try). */
  callAttempt: 'X-Pw-Call-Attempt',
} as const;

/** Hex characters of the request digest in a submit's message id: 64 bits, collision-free in practice. */
const SUBMIT_DIGEST_CHARS = 16;

/** Deterministic message ids: a republish after a crash is dropped by JetStream as a duplicate. */
export const msgIds = {
  /**
   * A run request: pass `requestDigest(request)`, so that only the same request sent twice is dropped as
   * a duplicate; another request for the same run id reaches the planner, which refuses it (conflict).
   * Without a digest every request for the run id within the duplicate window is dropped but the first.
   */
  submit: (runId: string, digest?: string) => (digest === undefined ? `submit:${runId}` : `submit:${runId}:${digest.slice(0, SUBMIT_DIGEST_CHARS)}`),
  resume: (runId: string, resumeId: string) => `resume:${runId}:${resumeId}`,
  signal: (runId: string, signalId: string) => `signal:${runId}:${signalId}`,
  /** A re-run request: pass `requestDigest(request)`, as for `submit`. */
  rerun: (newRunId: string, digest?: string) => (digest === undefined ? `rerun:${newRunId}` : `rerun:${newRunId}:${digest.slice(0, SUBMIT_DIGEST_CHARS)}`),
  /** The command of a task (its id from `taskId`): one per task, however often the outbox is flushed. */
  command: (runId: string, task: string) => `${runId}:${task}:cmd`,
  /** An entry of a task's log, by the process that writes it (a retried append is then the same message). */
  taskEntry: (runId: string, task: string, type: TaskLogType | 'task.spent', writer: string) => `${runId}:${task}:${type}:${writer}`,
  event: (runId: string, type: string, key: string) => `${runId}:${type}:${key}`,
} as const;

/** KV buckets of the embedded store. */
export const buckets = {
  runs: 'pw_runs',
  steps: 'pw_steps',
  decisions: 'pw_decisions',
  /** Receipts of tool calls by idempotency key (effects once). */
  toolReceipts: 'pw_tool_receipts',
  /** Each executor process's registry entry: its pool and the tasks it holds (for rescue when it dies). */
  executors: 'pw_executors',
  /** The runs API's idempotency keys: key → the run it created and the digest of its request. */
  idempotency: 'pw_idempotency',
  /** The tool registry: tool name → its ToolRegistration (written by the tool when it starts). */
  tools: 'pw_tools',
} as const;
