// Who may publish and subscribe to what on the bus: one NATS identity per role, each with the least it
// needs. A pure table, rendered into nats-server's `authorization` block by server-config.ts and
// checked against a real server by test/security/bus-permissions.test.ts.
//
// What it protects: only executors append to task logs (so a result cannot be forged), only the
// approver publishes decisions, only the planner publishes step commands and run events and manages
// the PW_* streams (a stream update could source forged messages into PW_EVENTS, or age it out), and
// no role but the planner (and the operators' `admin`) can delete, purge or reconfigure a stream.
import { buckets, consumers, streams, subjects } from '@pipewright/contracts';

/** The identities of a deployment. `admin` is for operators and tests, never for a service. */
export const BUS_ROLES = ['planner', 'executor', 'budget', 'approver', 'console', 'tools', 'client', 'admin'] as const;
export type BusRole = (typeof BUS_ROLES)[number];

export interface RolePermissions {
  publish: string[];
  subscribe: string[];
  /** May answer requests it received (publish once to their reply subject), whatever `publish` says. */
  allowResponses: boolean;
}

export interface PermissionOptions {
  /** The tools this deployment serves (`pw.tools.<name>`); `*` (the default) lets the tools role answer any. */
  tools?: readonly string[];
  /** The identity's reply inboxes (`inboxPrefixFor(publicKey)`). @default `_INBOX` (every identity's: only for a table without keys) */
  inboxPrefix?: string;
}

/** Buckets outside `buckets` (contracts) that services open: kept here so the table is complete. */
export const EXTRA_BUCKETS = {
  blobs: 'pw_blobs',
  budget: 'pw_budget',
  approvals: ['pw_approvals', 'pw_approvals_open', 'pw_approval_audit'],
} as const;

const S = streams;
/**
 * A process's reply inbox prefix when it connects with an nkey seed: `_INBOX_<its public key>`, so each
 * identity may subscribe to its own replies only (with `_INBOX.>` any role could read every other
 * role's replies: JetStream API answers carry run checkpoints and task results). Both sides derive it
 * from the key: kit's connectionOptions sets it, the authorization block allows it.
 */
export function inboxPrefixFor(publicKey: string): string {
  return `_INBOX_${publicKey}`;
}
const ev = (tail: string) => `pw.events.*.${tail}`;

/** Read-only JetStream API calls every JetStream client makes (account info, stream info). */
const JS_READ = ['$JS.API.INFO', '$JS.API.STREAM.INFO.*', '$JS.API.STREAM.NAMES', '$JS.API.STREAM.LIST'];

/** Creating, binding and pulling from one durable consumer, and acknowledging its messages. */
function durable(stream: string, name: string): string[] {
  return [
    `$JS.API.CONSUMER.CREATE.${stream}.${name}`,
    `$JS.API.CONSUMER.CREATE.${stream}.${name}.>`,
    `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.${name}`,
    `$JS.API.CONSUMER.INFO.${stream}.${name}`,
    `$JS.API.CONSUMER.MSG.NEXT.${stream}.${name}`,
    `$JS.ACK.${stream}.${name}.>`,
  ];
}

/** Reading a stream's messages: direct and stored gets, and ordered (ephemeral) consumers. */
function reader(stream: string): string[] {
  return [
    `$JS.API.DIRECT.GET.${stream}`,
    `$JS.API.DIRECT.GET.${stream}.>`,
    `$JS.API.STREAM.MSG.GET.${stream}`,
    `$JS.API.CONSUMER.CREATE.${stream}`,
    `$JS.API.CONSUMER.CREATE.${stream}.>`,
    `$JS.API.CONSUMER.INFO.${stream}.*`,
    `$JS.API.CONSUMER.MSG.NEXT.${stream}.*`,
    `$JS.API.CONSUMER.DELETE.${stream}.*`,
    `$JS.FC.${stream}.>`,
  ];
}

/** Managing a stream's configuration (create, update) — the topology owner only. */
const manage = (stream: string) => [`$JS.API.STREAM.CREATE.${stream}`, `$JS.API.STREAM.UPDATE.${stream}`];

/** A KV bucket the role owns: create it, read it (keys, watch, get), write and delete keys. */
function kvOwner(bucket: string): string[] {
  const stream = `KV_${bucket}`;
  return [...manage(stream), ...reader(stream), `$KV.${bucket}.>`];
}

/** An object store the role reads and writes. */
function objectStore(bucket: string): string[] {
  const stream = `OBJ_${bucket}`;
  return [...manage(stream), ...reader(stream), `$O.${bucket}.>`, `$JS.API.STREAM.PURGE.${stream}`];
}

/** Every run's store: the run checkpoints (KV, written by the planner alone) and the blobs of claim checks (object store). */
const runStore = [...kvOwner(buckets.runs), ...objectStore(EXTRA_BUCKETS.blobs)];
/** The store as a service that is not the planner opens it: run checkpoints read-only, blobs read-write. */
const runStoreReadOnly = [...reader(`KV_${buckets.runs}`), ...objectStore(EXTRA_BUCKETS.blobs)];

const TASK_RESULTS = ['step.started', 'step.parked', 'step.completed', 'step.failed'].map((t) => ev(`${t}.*`));

function plannerRole(INBOX: string): RolePermissions {
  return {
    publish: [
      ...JS_READ,
      ...Object.values(S).flatMap((s) => manage(s.name)),
      // Retention: a finished run's events are purged with the run.
      `$JS.API.STREAM.PURGE.${S.events.name}`,
      ...durable(S.runs.name, consumers.plannerRuns),
      ...durable(S.runs.name, `${consumers.plannerRuns}-cancel`),
      ...durable(S.runs.name, consumers.plannerResume),
      ...durable(S.runs.name, consumers.plannerRerun),
      ...durable(S.runs.name, consumers.plannerDeadlines),
      ...durable(S.runs.name, consumers.plannerSignals),
      ...durable(S.events.name, consumers.plannerEvents),
      ...durable(S.events.name, consumers.plannerChildren),
      ...reader(S.events.name),
      ...runStore,
      ...kvOwner(buckets.steps),
      ...kvOwner(buckets.decisions),
      // The tool registry: the planner creates the bucket and reads it at submit; only tools write it.
      ...manage(`KV_${buckets.tools}`),
      ...reader(`KV_${buckets.tools}`),
      subjects.runDeadline,
      // A `pipeline` step submits its child run, and an ended parent cancels the children still going.
      subjects.runSubmit,
      subjects.runCancel,
      'pw.steps.*.dispatch',
      'pw.steps.*.tool',
      ev('run.>'),
      ev('step.dispatched'),
      ev('step.parked'),
      ev('step.revoked.*'),
      ev('approval.requested'),
      subjects.approvalRequest,
      subjects.budget.status,
      subjects.dlq('planner'),
    ],
    subscribe: [INBOX],
    allowResponses: false,
  };
}

function executorRole(INBOX: string, tools: readonly string[]): RolePermissions {
  return {
    publish: [
      ...JS_READ,
      ...durable(S.steps.name, '*'),
      ...reader(S.events.name),
      ...runStoreReadOnly,
      ...kvOwner(buckets.executors),
      ...kvOwner(buckets.toolReceipts),
      ...TASK_RESULTS,
      ev('task.spent.*'),
      subjects.budget.reserve,
      subjects.budget.commit,
      subjects.budget.release,
      subjects.executorPing('*'),
      ...tools.flatMap((t) => [subjects.tool(t), subjects.toolDescribe(t)]),
      subjects.dlq('executor'),
    ],
    subscribe: [INBOX, subjects.executorPing('*')],
    allowResponses: true,
  };
}

function budgetRole(INBOX: string): RolePermissions {
  return {
    publish: [...JS_READ, ...durable(S.events.name, consumers.budgetSpend), ...reader(S.events.name), ...kvOwner(EXTRA_BUCKETS.budget), subjects.dlq('budget')],
    subscribe: [INBOX, 'pw.budget.*'],
    allowResponses: true,
  };
}

function approverRole(INBOX: string): RolePermissions {
  return {
    publish: [
      ...JS_READ,
      ...durable(S.approvals.name, consumers.approver),
      ...reader(S.events.name),
      ...EXTRA_BUCKETS.approvals.flatMap(kvOwner),
      ev('approval.decided'),
      ev('approval.escalated'),
      subjects.dlq('approver'),
    ],
    subscribe: [INBOX],
    allowResponses: false,
  };
}

function toolsRole(INBOX: string, tools: readonly string[]): RolePermissions {
  return {
    // Each tool writes its own registry entry (`$KV.pw_tools.<name>`), and no other name's.
    publish: [...JS_READ, ...kvOwner(buckets.toolReceipts), ...tools.map((t) => `$KV.${buckets.tools}.${t}`)],
    subscribe: [INBOX, ...tools.flatMap((t) => [subjects.tool(t), subjects.toolDescribe(t)])],
    allowResponses: true,
  };
}

/**
 * The requests a client may make of the planner. A signal (`pw.runs.signal`) completes a run's `signal`
 * step with its payload: whoever may submit and cancel runs may send one (the console on behalf of an
 * operate token, a client); services may not, so no executor or tool can answer a run's wait itself.
 */
const RUN_REQUESTS = [subjects.runSubmit, subjects.runCancel, subjects.runResume, subjects.runRerun, subjects.runSignal];

/**
 * The console (runs API and dashboard) is a client with an index: it reads every run event (its read
 * model, an ordered consumer), delivers webhooks from its durable consumer of finished runs, keeps the
 * API's idempotency keys, and makes the same requests a client makes. It writes no run state.
 */
function consoleRole(INBOX: string): RolePermissions {
  return {
    publish: [
      ...JS_READ,
      ...RUN_REQUESTS,
      ...reader(S.events.name),
      ...durable(S.events.name, consumers.consoleWebhooks),
      ...reader(`KV_${buckets.runs}`),
      // Opening the store binds the blob bucket, creating it when the console starts first; a blob is
      // content-addressed and checked against its digest on every read, so writing one forges nothing.
      ...objectStore(EXTRA_BUCKETS.blobs),
      ...kvOwner(buckets.idempotency),
      // `GET /api/v1/tools`: the tool registry, read-only.
      ...reader(`KV_${buckets.tools}`),
      subjects.budget.status,
      subjects.dlq('console'),
    ],
    subscribe: [INBOX],
    allowResponses: false,
  };
}

/**
 * A client submits, cancels, resumes and re-runs runs, sends them signals, reads run events and run summaries (`runs list/show`, cancelling by
 * label) and the tool registry, and asks the budget for its status. It writes nothing but requests.
 */
function clientRole(INBOX: string): RolePermissions {
  return {
    // The tool registry too (`pipewright tools list`): what each tool says about itself, nothing secret.
    publish: [...JS_READ, ...RUN_REQUESTS, ...reader(S.events.name), ...reader(`KV_${buckets.runs}`), ...reader(`OBJ_${EXTRA_BUCKETS.blobs}`), ...reader(`KV_${buckets.tools}`), subjects.budget.status],
    subscribe: [INBOX],
    allowResponses: false,
  };
}

/** What `role` may do. */
export function permissionsFor(role: BusRole, opts: PermissionOptions = {}): RolePermissions {
  const tools = opts.tools && opts.tools.length > 0 ? opts.tools : ['*'];
  const inbox = `${opts.inboxPrefix ?? '_INBOX'}.>`;
  switch (role) {
    case 'planner':
      return plannerRole(inbox);
    case 'executor':
      return executorRole(inbox, tools);
    case 'budget':
      return budgetRole(inbox);
    case 'approver':
      return approverRole(inbox);
    case 'tools':
      return toolsRole(inbox, tools);
    case 'console':
      return consoleRole(inbox);
    case 'client':
      return clientRole(inbox);
    case 'admin':
      return { publish: ['>'], subscribe: ['>'], allowResponses: true };
  }
}
