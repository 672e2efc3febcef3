import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { headers as H, subjects } from '@pipewright/contracts';
import type { Logger } from 'pino';

/**
 * Copies a refused message to `pw.dlq.<service>` with why it was refused and where it came from, so
 * nothing is dropped silently. The copy keeps the original payload and headers (trace context included).
 */
export async function sendToDlq(js: JetStreamClient, service: string, msg: JsMsg, stream: string, reason: string, log: Logger): Promise<void> {
  const h = natsHeaders();
  if (msg.headers) for (const [k, vs] of msg.headers) for (const v of vs) if (k !== H.msgId) h.append(k, v);
  h.set(H.dlqReason, reason.replace(/[\r\n]+/g, ' ').slice(0, 1024));
  h.set(H.dlqSubject, msg.subject);
  h.set(H.dlqStream, stream);
  h.set(H.dlqSeq, String(msg.seq));
  const msgID = `dlq:${stream}:${msg.seq}`;
  try {
    await js.publish(subjects.dlq(service), msg.data, { headers: h, msgID });
    log.warn({ subject: msg.subject, seq: msg.seq, reason }, 'message refused and copied to the DLQ');
  } catch (err) {
    // The original is still terminated: a DLQ outage must not turn a poison message into a loop.
    log.error({ err, subject: msg.subject, seq: msg.seq, reason }, 'could not copy a refused message to the DLQ');
  }
}
