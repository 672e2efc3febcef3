import type { JetStreamClient } from '@nats-io/jetstream';
import { context, trace, type Link } from '@opentelemetry/api';
import { headers, subjects, type OutboxEntry, type OutboxMessage, type RunState, type StepRevoked } from '@pipewright/contracts';
import { buildHeaders, contextFromTraceparent, externalize, publishJson, resolveClaim, tracedPublish, type BlobStore, type Logger, type TaskLog } from '@pipewright/kit';
import { LruSet } from './lru.js';
import { runContext, stepContext } from './run-spans.js';
import type { Outgoing } from './core/events.js';

/** An outbox payload larger than this (bytes of JSON) is kept as a blob reference in the stored run. */
export const OUTBOX_INLINE_BYTES = 16 * 1024;
/**
 * Another planner's entry older than this is dropped when the run is written: its event was acknowledged
 * long ago (or it would have been delivered again within the planner's AckWait and republished).
 */
export const FOREIGN_ENTRY_TTL_MS = 10 * 60_000;

/**
 * The transactional outbox. A transition's messages are stored with its state as one entry naming the
 * event it answers; after the write they are published (task-log entries appended). An entry is
 * republished only when the event it answers is delivered again — its planner died (or stalled past
 * AckWait) before acknowledging it, so its messages may not have gone out — never because another
 * replica loads the run. Entries leave the run when their writer has published them and writes the run
 * again, or when they are older than FOREIGN_ENTRY_TTL_MS.
 */
export class Outbox {
  /** Entries (by the event they answer) this process has published. */
  private readonly published = new LruSet(100_000);
  /** A transition's payloads, encoded once by `next` for the size check and published as they are. */
  private readonly encoded = new WeakMap<Outgoing, Uint8Array>();

  constructor(
    readonly writer: string,
    private readonly js: JetStreamClient,
    private readonly taskLog: TaskLog,
    private readonly blobs: BlobStore,
    private readonly log: Logger,
  ) {}

  /** The entry answering `eventKey`, if the stored run has one (the event was applied already). */
  answering(state: RunState | undefined, eventKey: string): OutboxEntry | undefined {
    return state?.outbox.find((e) => e.answers === eventKey);
  }

  /** The outbox to store with a new state: old entries pruned, the transition's entry added. */
  async next(prev: readonly OutboxEntry[], runId: string, eventKey: string, at: string, messages: readonly Outgoing[]): Promise<OutboxEntry[]> {
    const now = Date.parse(at);
    const kept = prev.filter((e) => !(e.writer === this.writer && this.published.has(entryId(runId, e))) && now - Date.parse(e.at) < FOREIGN_ENTRY_TTL_MS);
    const stored = await Promise.all(messages.map((m) => this.storable(runId, m)));
    return [...kept, { answers: eventKey, writer: this.writer, at, messages: stored }];
  }

  /** Publishes an entry's messages; `replay` marks them so that receivers look for earlier handling. */
  async publish(state: RunState, entry: OutboxEntry, live: readonly Outgoing[] | undefined, replay: boolean): Promise<void> {
    const msgs = live ?? (await Promise.all(entry.messages.map((m) => this.loadable(m))));
    // A run's messages are sent as children of its root (the handling of its submission), each linked to
    // the event that caused it: a run's trace stays a few levels deep however long its chain of steps,
    // where parenting each dispatch on the previous step's result made depth grow with the DAG.
    // The root is the run span (recorded when the run ends, see run-spans.ts); a dispatch goes under the
    // span of its step's attempt, so the executor's handling and model calls land beneath it.
    const root = runContext(state) ?? contextFromTraceparent(state.traceparent);
    const cause = trace.getActiveSpan()?.spanContext();
    const linked = !replay && cause !== undefined && trace.isSpanContextValid(cause) && cause.spanId !== trace.getSpanContext(root)?.spanId;
    const opts = { ...(replay ? { headers: { [headers.replay]: '1' } } : {}), links: linked ? [{ context: cause }] : [] };
    const traced = replay || state.traceparent !== undefined;
    const sendOne = (m: Outgoing) => (m.append ? this.revoke(m) : this.send(m, opts));
    const send = () => Promise.all(msgs.map((m) => (traced ? context.with(parentOf(state, m) ?? root, () => sendOne(m)) : sendOne(m))));
    await send();
    this.published.add(entryId(state.runId, entry));
  }

  /**
   * Appends a revocation to a task's log, after whatever is there: a task with its result needs none
   * (that result settles it); one already revoked needs no second. `inFlight` records whether a lease
   * was live, which tells the planner whether to wait for its owner's report.
   */
  private async revoke(m: Outgoing): Promise<void> {
    const draft = m.payload as StepRevoked;
    const task = m.subject.split('.').at(-1)!;
    for (let round = 0; round < 8; round++) {
      const last = await this.taskLog.last(draft.runId, task);
      const t = last?.entry.type;
      if (t === 'step.completed' || t === 'step.failed' || t === 'step.revoked') return;
      const started = last?.entry.type === 'step.started' ? last.entry : undefined;
      const entry: StepRevoked = { ...draft, inFlight: started !== undefined, ...(started ? { owner: started.owner } : {}) };
      if ((await this.taskLog.append(entry, last?.seq ?? 0, { writer: 'planner' })).ok) return;
    }
    this.log.warn({ runId: draft.runId, task }, 'could not revoke a task: its log kept changing; its result will settle the run');
  }

  private send(m: Outgoing, opts: { headers?: Record<string, string>; links: Link[] }): Promise<unknown> {
    const data = this.encoded.get(m);
    if (!data) return publishJson(this.js, m.subject, m.payload, { msgId: m.msgId, ...opts });
    const headers = opts.headers ? { headers: opts.headers } : {};
    return tracedPublish(m.subject, m.payload, undefined, m.msgId, (ctx) => this.js.publish(m.subject, data, { headers: buildHeaders({ msgId: m.msgId, ...headers, context: ctx }), msgID: m.msgId }), opts.links);
  }

  private async storable(runId: string, m: Outgoing): Promise<OutboxMessage> {
    const x = externalize(m.payload, { thresholdBytes: OUTBOX_INLINE_BYTES });
    const base = { subject: m.subject, msgId: m.msgId, ...(m.append ? { append: true as const } : {}) };
    if (x.kind === 'inline') {
      if (x.data) this.encoded.set(m, x.data);
      return { ...base, payload: m.payload };
    }
    this.encoded.set(m, x.data);
    return { ...base, payload: undefined, payloadRef: await this.blobs.put(runId, x.data) };
  }

  private async loadable(m: OutboxMessage): Promise<Outgoing> {
    const payload = m.payloadRef ? await resolveClaim(m.payloadRef, this.blobs) : m.payload;
    return { subject: m.subject, msgId: m.msgId, payload, ...(m.append ? { append: true as const } : {}) };
  }
}

/**
 * A step dispatch's parent: the span of the step's attempt. A child run's submission (a `pipeline`
 * step's) goes under its step's span too, so the child run's trace joins the parent's beneath that step.
 */
function parentOf(state: RunState, m: Outgoing): ReturnType<typeof stepContext> {
  if (m.append) return undefined;
  const p = m.payload as { stepId?: unknown; attempt?: unknown; parent?: { stepId?: unknown; attempt?: unknown } } | undefined;
  const at = m.subject === subjects.runSubmit ? p?.parent : m.subject.endsWith('.dispatch') ? p : undefined;
  if (typeof at?.stepId !== 'string' || typeof at.attempt !== 'number') return undefined;
  return stepContext(state, at.stepId, at.attempt);
}

const entryId = (runId: string, e: OutboxEntry) => `${runId}|${e.answers}|${e.at}`;
