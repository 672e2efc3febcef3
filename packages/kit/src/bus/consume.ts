import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/transport-node';
import { context, INVALID_SPAN_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { describeIssues, fromZodError, parseJsonBounded, shallowFields, type ValidationIssue } from '@pipewright/contracts';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { errorMessage } from '../errors.js';
import { isTransient } from '../service/transient.js';
import { lazyChild } from '../logger.js';
import { extractTrace } from '../telemetry/propagation.js';
import {
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_NATS_DELIVERY_COUNT,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
  MESSAGING_SYSTEM_VALUE_NATS,
} from '../telemetry/semconv.js';
import { sendToDlq } from './dlq.js';
import { recordOutcome, spanLook } from './consume-span.js';
import { outcomeOfError, settle, type Outcome } from './outcome.js';

export interface MessageContext {
  readonly subject: string;
  readonly seq: number;
  readonly deliveryCount: number;
  /**
   * This delivery, unique: `s<stream seq>d<delivery count>` and a random suffix. Sequence and count alone
   * can repeat: a nats-server killed before it wrote its consumer state sends a message again with the
   * same delivery count, possibly to the same process, while the first delivery is still being handled.
   */
  readonly delivery: string;
  /** When the stream stored the message (ms since the epoch, the server's clock). */
  readonly storedAtMs: number;
  /** The message's ack subject: another process may hand the message back with a `-NAK` on it. */
  readonly ackSubject: string;
  /** A header of the message, if present. */
  header(name: string): string | undefined;
  /** The message's payload bytes as stored (a signature is checked over these, not over a re-encoding). */
  readonly data: Uint8Array;
  /** The message's headers, if any. */
  readonly headers: MsgHdrs | undefined;
  /** True on the last delivery the consumer allows: a retry now would end in the DLQ. */
  readonly lastDelivery: boolean;
  /** Aborted when shutdown's grace runs out: hand the message back instead of finishing it. */
  readonly signal: AbortSignal;
  readonly span: Span;
  readonly log: Logger;
}

/** Called for a message that fails to decode, after it was refused; e.g. to tell the sender why. */
export type InvalidHook = (info: { subject: string; seq: number; raw: unknown; issues: ValidationIssue[]; reason: string }) => Promise<void>;

export interface ConsumeOptions<S extends z.ZodType> {
  js: JetStreamClient;
  service: string;
  stream: string;
  durable: string;
  schema: S;
  handler: (value: z.infer<S>, ctx: MessageContext) => Promise<Outcome>;
  log: Logger;
  /** Messages handled at once by this process. */
  concurrency: number;
  /** The consumer's AckWait; in-flight messages send `working()` every third of it. */
  ackWaitMs: number;
  /**
   * The consumer's max_deliver: a retry on the last delivery goes to the DLQ instead. With -1 (a timer
   * held back with delayed naks, or work whose failures all heal) no delivery is the last.
   */
  maxDeliver: number;
  /** Span name for a message (`process <name>`): the stream's part it reads, e.g. `pw.runs.submit`. */
  spanName: string;
  /**
   * Names the span by what the decoded message says happened (`process <name>`), e.g. by an event's
   * type: one consumer of PW_EVENTS sees `step.completed` and `approval.decided` alike. A message that
   * fails to decode keeps `spanName`.
   */
  spanNameOf?: (value: z.infer<S>) => string;
  /**
   * Whether a decoded message makes a span (default: every one). False for what the consumer only
   * skips: the budget's spend consumer sees every step result, most of which carry no spend.
   */
  traceIf?: (value: z.infer<S>) => boolean;
  onInvalid?: InvalidHook;
  /**
   * Told of every message delivered to this process — at once, before it waits for a free slot — and
   * again once it has been settled (acked, handed back, or refused): e.g. to list what this process
   * holds where a peer can hand it back should the process die.
   */
  tracker?: DeliveryTracker;
}

/** Deliveries are named by their ack subject, which is unique to each (two copies of one message included). */
export interface DeliveryTracker {
  received(ackSubject: string): void;
  settled(ackSubject: string): void;
}

export interface ConsumerHandle {
  /** Stops pulling, waits for in-flight messages up to `graceMs`, then hands the rest back (nak). */
  stop(graceMs: number): Promise<void>;
  inFlight(): number;
  /** Resolves when the pull loop ends (after stop, or on a fatal error). */
  done: Promise<void>;
}

/**
 * A typed pull-consumer loop: decode at the boundary (a bad message is terminated, copied to the DLQ and
 * never reaches the handler), one CONSUMER span per message joined to the sender's trace, heartbeats
 * while a handler runs, bounded concurrency, and an outcome mapped once to ack / nak / term.
 */
export async function startConsumer<S extends z.ZodType>(o: ConsumeOptions<S>): Promise<ConsumerHandle> {
  const consumer = await o.js.consumers.get(o.stream, o.durable);
  const tracer = trace.getTracer(`pipewright.${o.service}`);
  const abort = new AbortController();
  // Every handler in flight listens to this one signal (up to the concurrency, thousands): not a leak.
  setMaxListeners(0, abort.signal);
  const inFlight = new Map<JsMsg, Promise<void>>();
  let stopping = false;
  let wake: (() => void) | undefined;
  const messages: ConsumerMessages = await consumer.consume({ max_messages: Math.max(1, o.concurrency) });

  const heartbeatEveryMs = Math.max(250, Math.floor(o.ackWaitMs / 3));
  const handleOne = async (msg: JsMsg, heartbeat: NodeJS.Timeout): Promise<void> => {
    const parent = extractTrace(msg.headers);
    const log = lazyChild(o.log, { subject: msg.subject, seq: msg.seq });
    const decoded = decode(msg, o.schema);
    const look = decoded.ok ? spanLook(o, decoded.value, log) : { quiet: false, name: o.spanName };
    // A message the consumer only skips makes no span; what its handler does still joins the sender's trace.
    const span = look.quiet ? trace.wrapSpanContext(trace.getSpanContext(parent) ?? INVALID_SPAN_CONTEXT) : tracer.startSpan(
      `process ${look.name}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          [ATTR_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_VALUE_NATS,
          [ATTR_MESSAGING_OPERATION_TYPE]: MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
          [ATTR_MESSAGING_DESTINATION_NAME]: msg.subject,
          [ATTR_MESSAGING_CONSUMER_GROUP_NAME]: o.durable,
          [ATTR_MESSAGING_MESSAGE_ID]: msg.headers?.get('Nats-Msg-Id') ?? '',
          [ATTR_MESSAGING_NATS_DELIVERY_COUNT]: msg.info.deliveryCount,
        },
      },
      parent,
    );
    try {
      await context.with(trace.setSpan(parent, span), async () => {
        if (!decoded.ok) {
          await sendToDlq(o.js, o.service, msg, o.stream, decoded.reason, log);
          msg.term(decoded.reason.slice(0, 256));
          span.setStatus({ code: SpanStatusCode.ERROR, message: decoded.reason });
          if (o.onInvalid) await o.onInvalid({ subject: msg.subject, seq: msg.seq, raw: decoded.raw, issues: decoded.issues, reason: decoded.reason }).catch((err: unknown) => log.error({ err }, 'invalid-message hook failed'));
          return;
        }
        const ctx: MessageContext = {
          subject: msg.subject,
          seq: msg.seq,
          deliveryCount: msg.info.deliveryCount,
          delivery: `s${msg.seq}d${msg.info.deliveryCount}-${randomBytes(4).toString('hex')}`,
          ackSubject: ackSubjectOf(msg),
          storedAtMs: Math.floor(msg.info.timestampNanos / 1e6),
          // max_deliver -1 (a timer held back with delayed naks): no delivery is the last
          lastDelivery: o.maxDeliver > 0 && msg.info.deliveryCount >= o.maxDeliver,
          header: (name) => msg.headers?.get(name) || undefined,
          data: msg.data,
          headers: msg.headers,
          signal: abort.signal,
          span,
          log,
        };
        let outcome: Outcome;
        try {
          outcome = await o.handler(decoded.value, ctx);
        } catch (err) {
          outcome = outcomeOfError(err, msg.info.deliveryCount);
          // A broker that cannot serve yet (a cluster electing a leader, a reconnect) is retried and says
          // so at warn: an alert on error logs should not fire on every failover.
          if (isTransient(err)) log.warn({ err }, 'handler failed with a transient error; the message will be retried');
          else log.error({ err }, 'handler failed');
        }
        if ((outcome.kind === 'retry' || outcome.kind === 'wait') && ctx.lastDelivery) outcome = { kind: 'reject', reason: `deliveries exhausted (${o.maxDeliver}); last: ${outcome.reason}` };
        if (outcome.kind === 'reject') await sendToDlq(o.js, o.service, msg, o.stream, outcome.reason, log);
        recordOutcome(span, outcome);
        settle(msg, outcome);
      });
    } catch (err) {
      log.error({ err }, 'message handling failed; handing it back');
      msg.nak(1000);
    } finally {
      clearInterval(heartbeat);
      span.end();
    }
  };

  const done = (async () => {
    try {
      for await (const msg of messages) {
        if (stopping) {
          msg.nak(); // buffered but not started: hand back now rather than after AckWait
          continue;
        }
        const ack = ackSubjectOf(msg);
        o.tracker?.received(ack);
        // Heartbeat from receipt, not from the handler's start: a message waiting for a free slot must
        // not reach AckWait and be redelivered to another replica while it sits in this buffer.
        const heartbeat = setInterval(() => msg.working(), heartbeatEveryMs);
        while (inFlight.size >= o.concurrency) await new Promise<void>((r) => (wake = r));
        const p = handleOne(msg, heartbeat).finally(() => {
          inFlight.delete(msg);
          o.tracker?.settled(ack);
          wake?.();
        });
        inFlight.set(msg, p);
      }
    } catch (err) {
      if (!stopping) o.log.error({ err: errorMessage(err) }, 'consumer loop ended with an error');
    }
  })();

  return {
    inFlight: () => inFlight.size,
    done,
    async stop(graceMs: number) {
      stopping = true;
      // stop(), not close(): close() waits for the iterator to drain and can hang on an idle pull.
      messages.stop();
      const all = Promise.allSettled([...inFlight.values()]);
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
      if ((await Promise.race([all, timer])) === 'timeout') {
        abort.abort(new Error('shutdown grace elapsed'));
        for (const msg of inFlight.keys()) msg.nak();
        o.log.warn({ handedBack: inFlight.size }, 'grace elapsed; in-flight messages handed back');
      }
      await done;
    },
  };
}

type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string; raw: unknown; issues: ValidationIssue[] };

function decode<S extends z.ZodType>(msg: JsMsg, schema: S): Decoded<z.infer<S>> {
  try {
    return decodeText(msg.string(), schema);
  } catch (err) {
    // A decoder that throws (a bug, or a limit of the runtime) refuses the message: it is never retried.
    const reason = `could not decode: ${errorMessage(err)}`;
    return { ok: false, reason, raw: undefined, issues: [{ path: '(root)', message: reason }] };
  }
}

function decodeText<S extends z.ZodType>(text: string, schema: S): Decoded<z.infer<S>> {
  const parsed = parseJsonBounded(text);
  if (!parsed.ok) {
    // A refused text is never walked; its flat top-level fields (a run id) may still tell the sender why.
    const raw = parsed.kind === 'too-deep' ? shallowFields(text) : undefined;
    return { ok: false, reason: parsed.reason, raw, issues: [{ path: '(root)', message: parsed.reason }] };
  }
  const checked = schema.safeParse(parsed.value);
  if (checked.success) return { ok: true, value: checked.data };
  const issues = fromZodError(checked.error);
  return { ok: false, reason: `invalid message: ${describeIssues(issues)}`, raw: parsed.value, issues };
}

/** The ack subject the message came with (JsMsg carries it as `reply`, which its interface leaves out). */
function ackSubjectOf(msg: JsMsg): string {
  return (msg as JsMsg & { readonly reply?: string }).reply ?? '';
}
