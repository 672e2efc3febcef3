import { context, SpanKind, SpanStatusCode, trace, type Context, type Link, type Span } from '@opentelemetry/api';
import { errorMessage } from '../errors.js';
import {
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  MESSAGING_OPERATION_TYPE_VALUE_SEND,
  MESSAGING_SYSTEM_VALUE_NATS,
} from '../telemetry/semconv.js';

/**
 * A PRODUCER span around one publish (messaging conventions: `send <destination>`, operation type
 * `send`), the parent of the consumer spans of the message: its context is what travels in the
 * headers. A run event is named by its type (`send step.completed`), as its consumers name theirs
 * (`process step.completed`); its subject holds the run id, which would make a name per run.
 */
export async function tracedPublish<T>(
  subject: string,
  value: unknown,
  parent: Context | undefined,
  msgId: string | undefined,
  publish: (ctx: Context) => Promise<T>,
  /** Spans the publish follows from without being their child (e.g. the event that caused it). */
  links: Link[] = [],
): Promise<T> {
  const span = trace.getTracer('pipewright.bus').startSpan(
    `send ${destinationName(subject, value)}`,
    {
      kind: SpanKind.PRODUCER,
      links,
      attributes: {
        [ATTR_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_VALUE_NATS,
        [ATTR_MESSAGING_OPERATION_TYPE]: MESSAGING_OPERATION_TYPE_VALUE_SEND,
        [ATTR_MESSAGING_OPERATION_NAME]: 'publish',
        [ATTR_MESSAGING_DESTINATION_NAME]: subject,
        ...(msgId !== undefined ? { [ATTR_MESSAGING_MESSAGE_ID]: msgId } : {}),
      },
    },
    parent ?? context.active(),
  );
  try {
    const out = await publish(trace.setSpan(parent ?? context.active(), span));
    recordAck(span, out);
    return out;
  } catch (err) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(err) });
    throw err;
  } finally {
    span.end();
  }
}

function destinationName(subject: string, value: unknown): string {
  const type = (value as { type?: unknown } | null)?.type;
  return subject.startsWith('pw.events.') && typeof type === 'string' ? type : subject;
}

/** The stream's acknowledgement: where the message was stored, and whether it was a duplicate dropped. */
function recordAck(span: Span, ack: unknown): void {
  const a = ack as { seq?: unknown; duplicate?: unknown; stream?: unknown } | undefined;
  if (typeof a?.seq === 'number') span.setAttribute('pw.stream.sequence', a.seq);
  if (typeof a?.stream === 'string') span.setAttribute('pw.stream.name', a.stream);
  if (a?.duplicate === true) span.setAttribute('pw.message.duplicate', true);
}
