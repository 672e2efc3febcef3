import { createHash, randomBytes } from 'node:crypto';
import type { JetStreamClient } from '@nats-io/jetstream';
import {
  CancelRequest,
  msgIds,
  RerunRequest,
  RESUMABLE_STATUSES,
  ResumeRequest,
  SCHEMA_VERSION,
  SignalName,
  signalPayloadProblem,
  SignalRequest,
  subjects,
  TERMINAL_STATUSES,
  type CancelAccepted,
  type Labels,
  type RerunAccepted,
  type RerunBody,
  type ResumeAccepted,
  type ResumeBody,
  type RunRequest,
  type RunRequestInput,
  type RunState,
  type SignalAccepted,
  type SignalBody,
  type SubmitAccepted,
} from '@pipewright/contracts';
import { errorMessage, publishJson, type Logger, type Stores } from '@pipewright/kit';
import type { Actor, OpResult, RunOperator } from '../ports.js';
import { differences } from './differences.js';
import { IdempotencyKeys, type IdempotencyRecord } from './idempotency.js';
import { checkSubmit, differencesFromStored, newRunId } from './submit.js';

/** Statuses a run may be resumed from. */
/** Cancel requests of a cancel-by-label published at once (each waits for its PubAck). */
const CANCEL_PUBLISHES_IN_FLIGHT = 64;
/** Longest Idempotency-Key accepted (Stripe's limit). */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

export interface OperatorDeps {
  js: JetStreamClient;
  stores: Stores;
  keys: IdempotencyKeys;
  /** Unfinished runs with all the labels, from the index. */
  unfinishedWith(labels: Labels): string[];
  log: Logger;
}

const fail = <T>(status: 400 | 404 | 409 | 503, code: 'bad_request' | 'not_found' | 'conflict' | 'idempotency_conflict' | 'not_resumable' | 'unavailable', message: string, more: { issues?: { path: string; message: string }[]; differences?: string[] } = {}): OpResult<T> => ({
  ok: false,
  status,
  error: { code, message, ...more },
});

/**
 * The console's operations: each checks what it can (the run exists, its status allows it) and
 * publishes one request to PW_RUNS as any client would, waiting for the stream's PubAck. The planner
 * checks every request again: the console holds no authority of its own.
 */
export class Operator implements RunOperator {
  constructor(private readonly d: OperatorDeps) {}

  async submit(body: RunRequestInput, opts: { idempotencyKey?: string; actor: Actor }): Promise<OpResult<SubmitAccepted>> {
    const key = opts.idempotencyKey;
    if (key !== undefined && (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH || !/^[\x21-\x7e]+$/.test(key)))
      return fail(400, 'bad_request', `Idempotency-Key must be 1-${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters`, { issues: [{ path: 'Idempotency-Key', message: 'invalid' }] });
    const checked = checkSubmit(body);
    if (!checked.ok) return fail(400, 'bad_request', 'the run request is invalid', { issues: checked.issues });
    const runId = checked.request.runId ?? newRunId();
    const request: RunRequest = { ...checked.request, runId };
    const record: IdempotencyRecord = { runId, digest: checked.digest, request, at: new Date().toISOString(), by: opts.actor.name };

    const callerKey = key !== undefined ? IdempotencyKeys.callerKey(key) : undefined;
    if (callerKey) {
      const claim = await this.d.keys.claim(callerKey, record);
      if (claim.kind === 'exists') return this.replay(claim.record, checked.request, 'idempotency_conflict', 'this Idempotency-Key was used with another request');
    }
    const runKey = IdempotencyKeys.runKey(runId);
    const byRun = await this.d.keys.claim(runKey, record);
    if (byRun.kind === 'exists') {
      if (callerKey) await this.d.keys.release(callerKey);
      return this.replay(byRun.record, checked.request, 'conflict', `run ${runId} was submitted with another request`);
    }
    if (checked.explicitRunId) {
      const stored = await this.d.stores.runs.get(runId);
      if (stored) {
        const diff = differencesFromStored(stored.value, request);
        if (diff.length > 0) {
          await Promise.all([this.d.keys.release(runKey), callerKey ? this.d.keys.release(callerKey) : undefined]);
          return fail(409, 'conflict', `run ${runId} exists with another request`, { differences: diff });
        }
        return { ok: true, status: 200, value: { runId, created: false } };
      }
    }
    const published = await this.publish(subjects.runSubmit, request, msgIds.submit(runId, checked.digest));
    if (!published.ok) return published;
    this.d.log.info({ runId, by: opts.actor.name, pipeline: request.pipeline.name }, 'run submitted');
    return { ok: true, status: 202, value: { runId, created: true } };
  }

  /**
   * A key (or run id) seen before: the same request answers its run — published again, harmless (the
   * planner keeps one run per id), and the cure when the first answer was lost before its publish —
   * another request is a conflict naming where it differs.
   */
  private async replay(first: IdempotencyRecord, request: RunRequest, code: 'idempotency_conflict' | 'conflict', message: string): Promise<OpResult<SubmitAccepted>> {
    const { runId: _ignored, ...asked } = request;
    const { runId: _firstId, ...before } = first.request;
    const explicit = request.runId !== undefined;
    const diff = differences(explicit ? first.request : before, explicit ? request : asked);
    if (diff.length > 0) return fail(409, code, message, { differences: diff });
    const published = await this.publish(subjects.runSubmit, first.request, msgIds.submit(first.runId, first.digest));
    if (!published.ok) return published;
    return { ok: true, status: 200, value: { runId: first.runId, created: false } };
  }

  async cancel(runId: string, reason: string | undefined, actor: Actor): Promise<OpResult<CancelAccepted>> {
    const state = await this.state(runId);
    if (!state) return fail(404, 'not_found', `no run ${runId}`);
    if (TERMINAL_STATUSES.has(state.status)) return fail(409, 'conflict', `run ${runId} already ended: ${state.status}`);
    const published = await this.publishCancel(state, reason ?? `cancelled by ${actor.name}`);
    if (!published.ok) return published;
    this.d.log.info({ runId, by: actor.name }, 'run cancel requested');
    return { ok: true, status: 202, value: { runIds: [runId], count: 1 } };
  }

  async cancelByLabels(labels: Labels, reason: string | undefined, actor: Actor): Promise<OpResult<CancelAccepted>> {
    const runIds = this.d.unfinishedWith(labels);
    const why = reason ?? `cancelled by ${actor.name} (labels ${Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',')})`;
    // A batch may be thousands of runs: the cancels go out CANCEL_PUBLISHES_IN_FLIGHT at a time.
    for (let i = 0; i < runIds.length; i += CANCEL_PUBLISHES_IN_FLIGHT) {
      const results = await Promise.all(
        runIds.slice(i, i + CANCEL_PUBLISHES_IN_FLIGHT).map(async (runId) => {
          const state = await this.state(runId);
          return state ? this.publishCancel(state, why) : ({ ok: true } as const);
        }),
      );
      const failed = results.find((r) => !r.ok);
      if (failed) return failed;
    }
    this.d.log.info({ labels, count: runIds.length, by: actor.name }, 'runs cancel requested by labels');
    return { ok: true, status: 202, value: { runIds, count: runIds.length } };
  }

  async resume(runId: string, body: ResumeBody, actor: Actor): Promise<OpResult<ResumeAccepted>> {
    const state = await this.state(runId);
    if (!state) return fail(404, 'not_found', `no run ${runId}`);
    if (!RESUMABLE_STATUSES.has(state.status)) return fail(409, 'not_resumable', `run ${runId} is ${state.status}: only a failed, timed-out, budget-exhausted or cancelled run can be resumed`);
    const resumeId = randomBytes(12).toString('base64url');
    const req = ResumeRequest.parse({ schemaVersion: SCHEMA_VERSION, runId, resumeId, ...body, reason: body.reason ?? `resumed by ${actor.name}` });
    const published = await this.publish(subjects.runResume, req, msgIds.resume(runId, resumeId));
    if (!published.ok) return published;
    this.d.log.info({ runId, resumeId, by: actor.name }, 'run resume requested');
    return { ok: true, status: 202, value: { runId, resumeId } };
  }

  async rerun(runId: string, body: RerunBody, actor: Actor): Promise<OpResult<RerunAccepted>> {
    const state = await this.state(runId);
    if (!state) return fail(404, 'not_found', `no run ${runId}`);
    if (!state.pipeline.steps.some((s) => s.id === body.fromStep))
      return fail(400, 'bad_request', `run ${runId} has no step ${body.fromStep}`, { issues: [{ path: 'fromStep', message: `not a step of pipeline ${state.pipeline.name}` }] });
    const newId = body.runId ?? newRunId();
    if (body.runId !== undefined && (await this.d.stores.runs.get(body.runId))) return fail(409, 'conflict', `run ${body.runId} exists already`);
    const req = RerunRequest.parse({
      schemaVersion: SCHEMA_VERSION,
      runId: newId,
      from: { runId, stepId: body.fromStep },
      ...(body.budget ? { budget: body.budget } : {}),
      ...(body.labels ? { labels: body.labels } : {}),
      reason: body.reason ?? `re-run by ${actor.name}`,
    });
    const published = await this.publish(subjects.runRerun, req, msgIds.rerun(newId));
    if (!published.ok) return published;
    this.d.log.info({ runId: newId, from: runId, fromStep: body.fromStep, by: actor.name }, 'run re-run requested');
    return { ok: true, status: 202, value: { runId: newId, rerunOf: { runId, stepId: body.fromStep } } };
  }

  /**
   * Sends a named signal to a run that has not ended (a webhook's entry point too). The planner decides
   * what it does (a waiting step takes it, or the run keeps it); the answer says only that it was sent.
   */
  async signal(runId: string, name: string, body: SignalBody, opts: { idempotencyKey?: string; actor: Actor }): Promise<OpResult<SignalAccepted>> {
    const named = SignalName.safeParse(name);
    if (!named.success) return fail(400, 'bad_request', 'invalid signal name', { issues: [{ path: 'name', message: named.error.issues[0]?.message ?? 'invalid' }] });
    const key = opts.idempotencyKey;
    if (key !== undefined && (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH || !/^[\x21-\x7e]+$/.test(key)))
      return fail(400, 'bad_request', `Idempotency-Key must be 1-${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters`, { issues: [{ path: 'Idempotency-Key', message: 'invalid' }] });
    const payload = body.payload ?? null;
    const problem = signalPayloadProblem(payload);
    if (problem) return fail(400, 'bad_request', `the signal cannot be sent: ${problem}`, { issues: [{ path: 'payload', message: problem }] });
    const state = await this.state(runId);
    if (!state) return fail(404, 'not_found', `no run ${runId}`);
    if (TERMINAL_STATUSES.has(state.status)) return fail(409, 'conflict', `run ${runId} already ended: ${state.status}`);
    // The same key (or body signalId) is the same signal: the planner applies a signal id once.
    const signalId = body.signalId ?? (key !== undefined ? `k${createHash('sha256').update(key, 'utf8').digest('base64url').slice(0, 40)}` : randomBytes(12).toString('base64url'));
    const req = SignalRequest.parse({ schemaVersion: SCHEMA_VERSION, runId, name, payload, by: opts.actor.name, signalId });
    const published = await this.publish(subjects.runSignal, req, msgIds.signal(runId, signalId));
    if (!published.ok) return published;
    this.d.log.info({ runId, name, signalId, by: opts.actor.name }, 'signal sent');
    return { ok: true, status: 202, value: { runId, name, signalId } };
  }

  private async state(runId: string): Promise<RunState | undefined> {
    return (await this.d.stores.runs.get(runId))?.value;
  }

  /**
   * One cancel per life of the run (`cancel:<runId>:r<resumes>`): a cancel sent twice for the same life
   * (a retried request) is one, and a run resumed after a cancel can be cancelled again at once, which a
   * msg id per run would drop as a duplicate within the stream's duplicate window.
   */
  private publishCancel(state: RunState, reason: string): Promise<OpResult<never> | { ok: true }> {
    const life = state.resumes?.count ?? 0;
    return this.publish(subjects.runCancel, CancelRequest.parse({ schemaVersion: SCHEMA_VERSION, runId: state.runId, reason: reason.slice(0, 1000) }), `cancel:${state.runId}:r${life}`);
  }

  /** Publishes and waits for the PubAck; a bus that does not take it is a 503 (the caller retries). */
  private async publish(subject: string, payload: unknown, msgId: string): Promise<OpResult<never> | { ok: true }> {
    try {
      await publishJson(this.d.js, subject, payload, { msgId });
      return { ok: true };
    } catch (err) {
      this.d.log.warn({ err: errorMessage(err), subject, msgId }, 'publish failed');
      return fail(503, 'unavailable', `the bus did not take the request (${errorMessage(err)}); try again`);
    }
  }
}
