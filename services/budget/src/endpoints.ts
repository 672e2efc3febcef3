import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { context, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import {
  BudgetCommitRequest,
  BudgetReleaseRequest,
  BudgetReserveRequest,
  BudgetStatusRequest,
  describeIssues,
  fromZodError,
  parseJsonBounded,
  SCHEMA_VERSION,
  subjects,
  type BudgetErrorReply,
} from '@pipewright/contracts';
import {
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  errorMessage,
  extractTrace,
  MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
  MESSAGING_SYSTEM_VALUE_NATS,
  RetryableError,
  TerminalError,
} from '@pipewright/kit';
import type { z } from 'zod';
import type { BudgetMetrics } from './metrics.js';
import type { LedgerContext } from './service/context.js';
import { reserve } from './service/reserve.js';
import { commit, release } from './service/settle.js';
import { status } from './service/status.js';

/** Replicas answer in one queue group: each request is served by exactly one of them. */
export const BUDGET_QUEUE_GROUP = 'budget';

interface Endpoint<S extends z.ZodType> {
  op: string;
  subject: string;
  schema: S;
  handle: (ctx: LedgerContext, req: z.infer<S>) => Promise<{ outcome: string }>;
}

const endpoint = <S extends z.ZodType>(e: Endpoint<S>) => e as unknown as Endpoint<z.ZodType>;
const ENDPOINTS = [
  endpoint({ op: 'reserve', subject: subjects.budget.reserve, schema: BudgetReserveRequest, handle: reserve }),
  endpoint({ op: 'commit', subject: subjects.budget.commit, schema: BudgetCommitRequest, handle: commit }),
  endpoint({ op: 'release', subject: subjects.budget.release, schema: BudgetReleaseRequest, handle: release }),
  endpoint({ op: 'status', subject: subjects.budget.status, schema: BudgetStatusRequest, handle: status }),
];

export interface ServeOptions {
  tracer: Tracer;
  metrics: BudgetMetrics;
  maxInFlight: number;
}

export interface BudgetEndpoints {
  readonly subscriptions: readonly Subscription[];
  /** Stops taking requests and waits (up to `graceMs`) for those in flight to be answered. */
  stop(graceMs: number): Promise<void>;
}

const STOP_POLL_MS = 10;

/**
 * The request-reply endpoints on core NATS. Every request gets exactly one reply: a malformed one an
 * `invalid_request` error naming the field, a failure an error that says whether a retry can help.
 * Nothing a client sends can crash the service.
 */
export function serveBudget(nc: NatsConnection, ctx: LedgerContext, opts: ServeOptions): BudgetEndpoints {
  let inFlight = 0;
  const handle = async (ep: Endpoint<z.ZodType>, msg: Msg): Promise<void> => {
    const started = performance.now();
    if (inFlight >= opts.maxInFlight) return respond(msg, errorReply('overloaded', 'the budget service is at capacity; retry', true));
    inFlight += 1;
    opts.metrics.inFlight.set(inFlight);
    // The request is handled in the caller's trace, but makes a span of its own only when it did not go
    // through (a denial, an error): a granted reserve is recorded on the caller's model-call span, and
    // one span per reserve and commit made the budget most of every trace.
    const parent = extractTrace(msg.headers);
    const startTime = Date.now();
    let reply: { outcome: string };
    let failure: string | undefined;
    try {
      const parsed = decode(ep.schema, msg.data);
      if (!parsed.ok) ctx.log.warn({ op: ep.op, bytes: msg.data.length, error: parsed.reply.error }, 'budget request refused: invalid');
      reply = parsed.ok ? await context.with(parent, () => ep.handle(ctx, parsed.value)) : parsed.reply;
    } catch (err) {
      reply = failureReply(err);
      failure = errorMessage(err);
      ctx.log.error({ err, op: ep.op }, 'budget request failed');
    } finally {
      inFlight -= 1;
      opts.metrics.inFlight.set(inFlight);
    }
    respond(msg, reply);
    if (!QUIET_OUTCOMES.has(reply.outcome)) {
      const span = opts.tracer.startSpan(
        `budget ${ep.op} ${reply.outcome}`,
        { kind: SpanKind.SERVER, startTime, attributes: { [ATTR_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_VALUE_NATS, [ATTR_MESSAGING_OPERATION_TYPE]: MESSAGING_OPERATION_TYPE_VALUE_PROCESS, [ATTR_MESSAGING_DESTINATION_NAME]: msg.subject, 'pw.budget.outcome': reply.outcome, ...replyFacts(reply) } },
        parent,
      );
      if (reply.outcome === 'error') span.setStatus({ code: SpanStatusCode.ERROR, message: failure ?? errorText(reply) });
      span.end();
    }
    opts.metrics.requests.inc({ op: ep.op, outcome: reply.outcome });
    opts.metrics.duration.observe({ op: ep.op }, (performance.now() - started) / 1000);
    countMoney(opts.metrics, reply);
  };
  const subscriptions = ENDPOINTS.map((ep) =>
    nc.subscribe(ep.subject, {
      queue: BUDGET_QUEUE_GROUP,
      callback: (err, msg) => {
        if (err) return ctx.log.error({ err, subject: ep.subject }, 'budget subscription failed');
        void handle(ep, msg).catch((e: unknown) => ctx.log.error({ err: e, op: ep.op }, 'budget request could not be answered'));
      },
    }),
  );
  return {
    subscriptions,
    async stop(graceMs) {
      await Promise.all(subscriptions.map((s) => s.drain()));
      const deadline = Date.now() + graceMs;
      while (inFlight > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, STOP_POLL_MS));
      if (inFlight > 0) ctx.log.warn({ inFlight }, 'stopping with budget requests unanswered; clients will retry');
    },
  };
}

/** Money and denials of a first answer (a repeated request changed nothing and counts nothing). */
function countMoney(m: BudgetMetrics, reply: { outcome: string }): void {
  const r = reply as { outcome: string; repeated?: boolean; reservedUsd?: number; chargedUsd?: number; limit?: string };
  if (r.repeated !== false) return;
  if (r.outcome === 'granted' && r.reservedUsd !== undefined) m.reservedUsd.inc(r.reservedUsd);
  else if (r.outcome === 'committed' && r.chargedUsd !== undefined) m.committedUsd.inc(r.chargedUsd);
  else if (r.outcome === 'denied' && r.limit !== undefined) m.denials.inc({ limit: r.limit });
}

/** Outcomes that went through: no span of their own (the caller records them). */
const QUIET_OUTCOMES: ReadonlySet<string> = new Set(['granted', 'committed', 'released', 'repeated', 'status']);

/** What a denial says (which limit, what is left), for its span. */
function replyFacts(reply: { outcome: string }): Record<string, string | number> {
  const r = reply as { limit?: unknown; remaining?: unknown; reason?: unknown };
  return {
    ...(typeof r.limit === 'string' ? { 'pw.budget.limit': r.limit } : {}),
    ...(typeof r.remaining === 'number' ? { 'pw.budget.remaining': r.remaining } : {}),
    ...(typeof r.reason === 'string' ? { 'pw.budget.reason': r.reason.slice(0, 500) } : {}),
  };
}

function errorText(reply: { outcome: string }): string {
  const e = (reply as { error?: { message?: unknown } }).error;
  return typeof e?.message === 'string' ? e.message : 'error';
}

type Decoded = { ok: true; value: unknown } | { ok: false; reply: BudgetErrorReply };

function decode(schema: z.ZodType, data: Uint8Array): Decoded {
  // Depth is checked on the text, before anything recursive walks the value (see MAX_JSON_DEPTH).
  const raw = parseJsonBounded(new TextDecoder().decode(data));
  if (!raw.ok) return { ok: false, reply: errorReply('invalid_request', raw.kind === 'not-json' ? 'the request is not JSON' : raw.reason, false, '(root)') };
  const parsed = schema.safeParse(raw.value);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issues = fromZodError(parsed.error);
  return { ok: false, reply: errorReply('invalid_request', describeIssues(issues), false, issues[0]?.path) };
}

/**
 * A failure is retryable unless it is known to be final: the client treats a non-retryable error as a
 * bug on its side, so a store that threw something unexpected must not look like one. Malformed
 * requests never get here (`invalid_request` is answered before the handler runs).
 */
export function failureReply(err: unknown): BudgetErrorReply {
  if (err instanceof TerminalError) return errorReply(err.code, err.message, false);
  const code = err instanceof RetryableError && 'code' in err && typeof err.code === 'string' ? err.code : 'unavailable';
  return errorReply(code, err instanceof RetryableError ? err.message : 'the budget service could not complete the request (logged); retry', true);
}

function errorReply(code: string, message: string, retryable: boolean, path?: string): BudgetErrorReply {
  return { schemaVersion: SCHEMA_VERSION, outcome: 'error', error: { code, message, retryable, ...(path !== undefined ? { path } : {}) } };
}

function respond(msg: Msg, reply: unknown): void {
  // A request published without a reply subject cannot be answered; respond() then does nothing. On a
  // closed connection it throws: the client's timeout and retry cover that.
  msg.respond(JSON.stringify(reply));
}
