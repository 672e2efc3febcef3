import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { trace } from '@opentelemetry/api';
import {
  BudgetCommitReply,
  BudgetReleaseReply,
  BudgetReserveReply,
  BudgetStatusReply,
  SCHEMA_VERSION,
  subjects,
  type BudgetCommitRequest,
  type BudgetLimitName,
  type BudgetReleaseRequest,
  type BudgetReserveRequestInput,
  type BudgetScope,
  type BudgetStatus,
  type ModelPrice,
  type ReservationState,
} from '@pipewright/contracts';
import { errorMessage, injectTrace, TerminalError } from '@pipewright/kit';
import type { z } from 'zod';

/** One request's wait for a reply. */
export const DEFAULT_BUDGET_TIMEOUT_MS = 1_000;
/** All tries of one operation together; then it is `unavailable`. */
export const DEFAULT_BUDGET_DEADLINE_MS = 5_000;
const BACKOFF_BASE_MS = 25;
const BACKOFF_CAP_MS = 500;

export interface BudgetClientOptions {
  /** How long one request waits for a reply. @default 1000 */
  timeoutMs?: number;
  /** How long an operation keeps retrying (timeouts, no responders, retryable errors). @default 5000 */
  deadlineMs?: number;
}

export type ReserveOutcome =
  | { kind: 'granted'; reservationId: string; reservedUsd: number; reservedTokens: number; expiresAt: string; price?: ModelPrice; repeated: boolean }
  | { kind: 'denied'; reservationId: string; limit: BudgetLimitName; reason: string; remaining: number; retryAfterMs?: number }
  /** The budget service could not be reached in time: the caller fails closed or open, per pipeline. */
  | { kind: 'unavailable'; reason: string };

export type CommitOutcome =
  | { kind: 'committed'; chargedUsd: number; chargedTokens: number; repeated: boolean; late: boolean; previous: ReservationState }
  | { kind: 'unavailable'; reason: string };

export type ReleaseOutcome = { kind: 'released'; repeated: boolean; previous: ReservationState } | { kind: 'unavailable'; reason: string };

export type StatusOutcome = ({ kind: 'status' } & BudgetStatus) | { kind: 'unavailable'; reason: string };

/** The budget service refused a request as malformed: a bug in the caller, not an outcome. */
export class BudgetRequestError extends TerminalError {
  override readonly name = 'BudgetRequestError';
}

/**
 * The executor's side of the budget service: request-reply on core NATS with a timeout per request and
 * retries (full jitter) within a deadline. Retrying is safe because every request names its reservation:
 * a repeat is the same reservation and is never counted twice.
 */
export class BudgetClient {
  private readonly timeoutMs: number;
  private readonly deadlineMs: number;

  constructor(
    private readonly nc: NatsConnection,
    opts: BudgetClientOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_BUDGET_TIMEOUT_MS;
    this.deadlineMs = opts.deadlineMs ?? DEFAULT_BUDGET_DEADLINE_MS;
  }

  async reserve(req: Omit<BudgetReserveRequestInput, 'schemaVersion'>, signal?: AbortSignal): Promise<ReserveOutcome> {
    const r = await this.call(subjects.budget.reserve, { schemaVersion: SCHEMA_VERSION, ...req }, BudgetReserveReply, signal);
    if ('unavailable' in r) return { kind: 'unavailable', reason: r.unavailable };
    if (r.outcome === 'granted') return { kind: 'granted', reservationId: r.reservationId, reservedUsd: r.reservedUsd, reservedTokens: r.reservedTokens, expiresAt: r.expiresAt, ...(r.price ? { price: r.price } : {}), repeated: r.repeated };
    return { kind: 'denied', reservationId: r.reservationId, limit: r.limit, reason: r.reason, remaining: r.remaining, ...(r.retryAfterMs !== undefined ? { retryAfterMs: r.retryAfterMs } : {}) };
  }

  async commit(req: Omit<BudgetCommitRequest, 'schemaVersion'>, signal?: AbortSignal): Promise<CommitOutcome> {
    const r = await this.call(subjects.budget.commit, { schemaVersion: SCHEMA_VERSION, ...req }, BudgetCommitReply, signal);
    if ('unavailable' in r) return { kind: 'unavailable', reason: r.unavailable };
    return { kind: 'committed', chargedUsd: r.chargedUsd, chargedTokens: r.chargedTokens, repeated: r.repeated, late: r.late, previous: r.previous };
  }

  async release(req: Omit<BudgetReleaseRequest, 'schemaVersion'>, signal?: AbortSignal): Promise<ReleaseOutcome> {
    const r = await this.call(subjects.budget.release, { schemaVersion: SCHEMA_VERSION, ...req }, BudgetReleaseReply, signal);
    if ('unavailable' in r) return { kind: 'unavailable', reason: r.unavailable };
    return { kind: 'released', repeated: r.repeated, previous: r.previous };
  }

  async status(scope: BudgetScope, id: string, signal?: AbortSignal): Promise<StatusOutcome> {
    const r = await this.call(subjects.budget.status, { schemaVersion: SCHEMA_VERSION, scope, id }, BudgetStatusReply, signal);
    if ('unavailable' in r) return { kind: 'unavailable', reason: r.unavailable };
    return { ...r, kind: 'status' };
  }

  /** Sends until a reply that is not a retryable error arrives, or the deadline passes. */
  private async call<S extends z.ZodType<{ outcome: string }>>(subject: string, body: unknown, schema: S, signal?: AbortSignal): Promise<Exclude<z.infer<S>, { outcome: 'error' }> | { unavailable: string }> {
    const payload = JSON.stringify(body);
    const deadline = Date.now() + this.deadlineMs;
    let last = 'no attempt made';
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) return { unavailable: 'aborted' };
      const left = deadline - Date.now();
      if (left <= 0) return { unavailable: `budget service unavailable after ${attempt - 1} attempt(s): ${last}` };
      try {
        const msg = await this.nc.request(subject, payload, { timeout: Math.max(1, Math.min(this.timeoutMs, left)), ...traceHeaders() });
        const parsed = schema.safeParse(msg.json());
        if (!parsed.success) throw new BudgetRequestError(`malformed reply on ${subject}: ${parsed.error.message}`, 'budget_protocol');
        const reply = parsed.data as { outcome: string; error?: { code: string; message: string; retryable: boolean; path?: string } };
        if (reply.outcome !== 'error') return reply as Exclude<z.infer<S>, { outcome: 'error' }>;
        const e = reply.error!;
        if (!e.retryable) throw new BudgetRequestError(`${subject}: ${e.code}${e.path ? ` at ${e.path}` : ''}: ${e.message}`, e.code);
        last = `${e.code}: ${e.message}`;
      } catch (err) {
        if (err instanceof BudgetRequestError) throw err;
        // Timeouts, no responders, a closed or reconnecting connection: the service may be back soon.
        last = errorMessage(err);
      }
      const pause = Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
      await new Promise((resolve) => setTimeout(resolve, Math.min(pause, Math.max(0, deadline - Date.now()))));
    }
  }
}

/** The W3C trace context of the active span, so the budget span joins the step's trace. */
function traceHeaders(): { headers?: ReturnType<typeof natsHeaders> } {
  if (!trace.getActiveSpan()) return {};
  const h = natsHeaders();
  injectTrace(h);
  return { headers: h };
}
