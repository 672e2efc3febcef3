import { context, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import { errorMessage } from '../errors.js';

/**
 * A PRODUCER span around one publish (messaging conventions: `send <destination>`, operation type
 * `send`), the parent of the consumer spans of the message: its context is what travels in the
 * headers. A run event is named by its type (`send step.completed`), as its consumers name theirs
 * (`process step.completed`); its subject holds the run id, which would make a name per run.
 */
export async function tracedPublish<T>(subject: string, value: unknown, parent: Context | undefined, msgId: string | undefined, publish: (ctx: Context) => Promise<T>): Promise<T> {
  const span = trace.getTracer('pipewright.bus').startSpan(
    `send ${destinationName(subject, value)}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'nats',
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'publish',
        'messaging.destination.name': subject,
        ...(msgId !== undefined ? { 'messaging.message.id': msgId } : {}),
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
