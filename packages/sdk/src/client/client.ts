import { randomUUID } from 'node:crypto';
import { TERMINAL_STATUSES, type CancelAccepted, type Labels, type PipelineSpecInput, type RerunAccepted, type ResumeAccepted, type ResumeBody, type RunBudget, type RunDetail, type RunEvent, type SubmitAccepted } from '@pipewright/contracts';
import type { ChildPipeline } from '../types.js';
import { anySignal, backoffMs, pause } from './backoff.js';
import { PipewrightApiError, RunFailedError } from './errors.js';
import { readSse } from './sse.js';

declare const OUTPUT: unique symbol;
/** A run's id that remembers, for the compiler, the type of the run's output (what `result` returns). */
export type RunRef<O = unknown> = string & { readonly [OUTPUT]?: O };

export interface ClientOptions {
  /** The console: `http://host:8070` or its API base `http://host:8070/api/v1`. */
  baseUrl: string;
  /** A bearer token (`PW_CONSOLE_TOKENS`): `operate` to submit and steer runs, `read` to read them. */
  token: string;
  /** Time limit of one API call (not of a stream, nor of `result`). @default 30000 */
  requestTimeoutMs?: number;
  /**
   * An event stream that brings nothing (not even the console's 15 s heartbeat) for this long is taken
   * for dead (a half-open connection) and opened again after the last event. @default 60000
   */
  streamIdleMs?: number;
  /** Attempts of a submit or signal the bus did not take (503) or that met a network error. @default 4 */
  maxAttempts?: number;
  /** The fetch to use. @default globalThis.fetch */
  fetch?: typeof globalThis.fetch;
}

export interface SubmitOptions {
  /** The run's id (makes the submit idempotent by id). @default the console picks one */
  runId?: string;
  /** Makes retries of this submit one run (`Idempotency-Key`). @default a fresh key per call, kept across its retries */
  idempotencyKey?: string;
  labels?: Labels;
  /** This run's limits, over the pipeline's `budget`. */
  budget?: RunBudget;
  tenant?: string;
  signal?: AbortSignal;
}

export interface WaitOptions {
  /** Gives up after this long (rejects with a TimeoutError). @default no limit */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** A run event as the stream delivers it: its stream sequence (for `lastEventId`) and the event. */
export interface StreamedEvent {
  id: string | undefined;
  event: RunEvent;
}

/**
 * A client of the console's runs API (docs/api.md) over HTTP with a bearer token: submit a pipeline
 * (written with the SDK, or a spec), read a run, wait for its result, follow its events, cancel,
 * resume, re-run, and send it signals. Uses the global `fetch`; needs no NATS connection.
 */
export class PipewrightClient {
  private readonly api: string;
  private readonly fetch: typeof globalThis.fetch;

  constructor(private readonly opts: ClientOptions) {
    const base = opts.baseUrl.replace(/\/+$/, '');
    this.api = base.endsWith('/api/v1') ? base : `${base}/api/v1`;
    this.fetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** Submits a run; answers its id once the bus has stored the request. A submit the bus did not take is retried with the same key. */
  submit<I, O>(pipeline: ChildPipeline<I, O>, input: I, options?: SubmitOptions): Promise<RunRef<O>>;
  submit(spec: PipelineSpecInput, input: Record<string, unknown>, options?: SubmitOptions): Promise<RunRef>;
  async submit(pipeline: ChildPipeline<unknown, unknown> | PipelineSpecInput, input: unknown, options: SubmitOptions = {}): Promise<RunRef> {
    const spec = 'toSpec' in pipeline && typeof pipeline.toSpec === 'function' ? pipeline.toSpec() : pipeline;
    const { runId, labels, budget, tenant, signal } = options;
    const body = { pipeline: spec, input, ...(runId !== undefined ? { runId } : {}), ...(labels ? { labels } : {}), ...(budget ? { budget } : {}), ...(tenant !== undefined ? { tenant } : {}) };
    const key = options.idempotencyKey ?? randomUUID();
    const accepted = await this.retrying(() => this.call<SubmitAccepted>('POST', '/runs', { body, headers: { 'idempotency-key': key }, signal }), signal);
    return accepted.runId;
  }

  /** The run as the console shows it: status, steps, outputs, cost, decisions, approvals. */
  get(runId: string, options: { signal?: AbortSignal } = {}): Promise<RunDetail> {
    return this.call<RunDetail>('GET', `/runs/${encodeURIComponent(runId)}`, { signal: options.signal });
  }

  /**
   * Waits until the run ends and answers its output; a run that ends other than `succeeded` rejects
   * with RunFailedError (status, reason). Follows the run's event stream (reconnecting where it left
   * off), or polls with backoff when streams are refused; bounded by `timeoutMs` and `signal`.
   */
  async result<O>(runId: RunRef<O>, options: WaitOptions = {}): Promise<O> {
    const signal = anySignal([options.signal], options.timeoutMs);
    try {
      for await (const { event } of this.events(runId, { signal })) if (event.type === 'run.finished') break;
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (!(err instanceof PipewrightApiError && err.status === 503)) throw err;
      // streams refused (too many open): polling alone
    }
    const detail = await this.untilEnded(runId, signal);
    if (detail.status !== 'succeeded') throw new RunFailedError(runId, detail.status, detail.reason, detail);
    return detail.output as O;
  }

  /**
   * The run's events, from its first (or after `lastEventId`), live, until the stream ends after the
   * run's `run.finished`. A dropped connection is resumed after the last event received.
   */
  async *events(runId: string, options: { lastEventId?: string; signal?: AbortSignal } = {}): AsyncGenerator<StreamedEvent> {
    let last = options.lastEventId;
    for (let attempt = 0; ; attempt++) {
      let finished = false;
      const idle = new AbortController();
      try {
        const res = await this.request('GET', `/runs/${encodeURIComponent(runId)}/events`, { signal: anySignal([options.signal, idle.signal]), headers: { accept: 'text/event-stream', ...(last !== undefined ? { 'last-event-id': last } : {}) }, stream: true });
        if (!res.body) return;
        const watchdog = setTimeout(() => idle.abort(new Error(`the event stream of run ${runId} went silent`)), this.opts.streamIdleMs ?? 60_000);
        const watched = res.body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({ transform: (chunk, out) => void (watchdog.refresh(), out.enqueue(chunk)) }));
        try {
          for await (const msg of readSse(watched)) {
            if (msg.id !== undefined) last = msg.id;
            if (msg.data === '') continue;
            const event = JSON.parse(msg.data) as RunEvent;
            if (event.type === 'run.finished') finished = true;
            attempt = 0;
            yield { id: msg.id, event };
          }
        } finally {
          clearTimeout(watchdog);
        }
        if (finished) return;
      } catch (err) {
        if (options.signal?.aborted || err instanceof PipewrightApiError || attempt >= (this.opts.maxAttempts ?? 4)) throw err;
      }
      // the stream ended before the run did (a console restart, a proxy): go on after the last event
      await pause(backoffMs(attempt), options.signal);
    }
  }

  /** Asks the planner to cancel the run (steps in flight are revoked). 409 (`conflict`) when it has already ended. */
  cancel(runId: string, reason?: string): Promise<CancelAccepted> {
    return this.call<CancelAccepted>('POST', `/runs/${encodeURIComponent(runId)}/cancel`, { body: reason !== undefined ? { reason } : {} });
  }

  /** Resumes a failed, timed-out, budget-exhausted or cancelled run where it stopped, with new limits. */
  resume(runId: string, body: ResumeBody = {}): Promise<ResumeAccepted> {
    return this.call<ResumeAccepted>('POST', `/runs/${encodeURIComponent(runId)}/resume`, { body });
  }

  /** Starts a new run of the same pipeline and input that reuses the outputs before `fromStep`. */
  async rerun<O = unknown>(runId: RunRef<O>, fromStep: string, options: { runId?: string; budget?: RunBudget; labels?: Labels; reason?: string } = {}): Promise<RunRef<O>> {
    const accepted = await this.call<RerunAccepted>('POST', `/runs/${encodeURIComponent(runId)}/rerun`, { body: { fromStep, ...options } });
    return accepted.runId;
  }

  /**
   * Sends the signal `name` to the run (a `signal` step waiting for it takes `payload` as its output; a
   * signal sent early is kept). `signalId` makes it idempotent. @default a fresh id per call, kept across its retries
   */
  async signal(runId: string, name: string, payload: unknown, options: { signalId?: string; signal?: AbortSignal } = {}): Promise<unknown> {
    const signalId = options.signalId ?? randomUUID().replaceAll('-', '');
    return this.retrying(() => this.call('POST', `/runs/${encodeURIComponent(runId)}/signals/${encodeURIComponent(name)}`, { body: { payload, signalId }, signal: options.signal }), options.signal);
  }

  /** Polls the run with backoff until its status is terminal. */
  private async untilEnded(runId: string, signal: AbortSignal | undefined): Promise<RunDetail> {
    for (let attempt = 0; ; attempt++) {
      const detail = await this.get(runId, { signal });
      if (TERMINAL_STATUSES.has(detail.status)) return detail;
      await pause(backoffMs(Math.min(attempt, 5), 250, 5_000, 100), signal);
    }
  }

  /** Runs `call` again (after a backoff) when the bus did not take it or the network failed, up to maxAttempts. */
  private async retrying<T>(call: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    const max = this.opts.maxAttempts ?? 4;
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        const retryable = err instanceof PipewrightApiError ? err.retryable : !signal?.aborted && err instanceof TypeError; // fetch's network failure
        if (!retryable || attempt >= max) throw err;
        await pause(backoffMs(attempt - 1), signal);
      }
    }
  }

  private async call<T>(method: string, path: string, o: { body?: unknown; headers?: Record<string, string>; signal?: AbortSignal | undefined }): Promise<T> {
    const res = await this.request(method, path, o);
    return (await res.json()) as T;
  }

  private async request(method: string, path: string, o: { body?: unknown; headers?: Record<string, string>; signal?: AbortSignal | undefined; stream?: boolean }): Promise<Response> {
    const signal = o.stream ? o.signal : anySignal([o.signal], this.opts.requestTimeoutMs ?? 30_000);
    const res = await this.fetch(`${this.api}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.opts.token}`, ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}), ...o.headers },
      ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
      ...(signal ? { signal } : {}),
    });
    if (res.ok) return res;
    const text = await res.text().catch(() => '');
    let error: { code?: string; message?: string; issues?: []; differences?: [] } = {};
    try {
      error = (JSON.parse(text) as { error?: typeof error }).error ?? {};
    } catch {
      // not an ApiError body (a proxy's page): the status says enough
    }
    throw new PipewrightApiError(res.status, error.code ?? 'http_error', error.message ?? (text.slice(0, 200) || res.statusText), error.issues, error.differences);
  }
}
