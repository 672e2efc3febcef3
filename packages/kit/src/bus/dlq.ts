import { createHash } from 'node:crypto';
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { headers as H, subjects } from '@pipewright/contracts';
import type { Logger } from 'pino';

/** nats-server's default max_payload, used when the connection has not reported its own. */
const DEFAULT_MAX_PAYLOAD_BYTES = 1_048_576;
/** Room kept for what the client adds on publish (Nats-Msg-Id's header line is counted separately). */
const PUBLISH_SLACK_BYTES = 64;
/** Original headers larger than this share of the budget are left out of a copy that must be cut. */
const MAX_KEPT_HEADER_SHARE = 0.25;

/** Refused messages seen by this process, by what became of them (read by the service's /metrics). */
export const dlqStats = { copied: 0, truncated: 0, failed: 0 };

/**
 * Copies a refused message to `pw.dlq.<service>` with why it was refused and where it came from, so
 * nothing is dropped silently. The copy keeps the original payload and headers (trace context included),
 * with the payload's size and sha256. A copy that would not fit the connection's max_payload (a message
 * refused for its size, or one within a few hundred bytes of the limit, whose DLQ headers push it over)
 * is cut to fit: `Pw-Dlq-Truncated` says what was cut, size and hash identify the original.
 */
export async function sendToDlq(js: JetStreamClient, service: string, msg: JsMsg, stream: string, reason: string, log: Logger): Promise<void> {
  const data = msg.data;
  const own: [string, string][] = [
    [H.dlqReason, reason.replace(/[\r\n]+/g, ' ').slice(0, 1024)],
    [H.dlqSubject, msg.subject],
    [H.dlqStream, stream],
    [H.dlqSeq, String(msg.seq)],
    [H.dlqSize, String(data.length)],
    [H.dlqSha256, createHash('sha256').update(data).digest('hex')],
  ];
  const original: [string, string][] = [];
  if (msg.headers) for (const [k, vs] of msg.headers) for (const v of vs) if (k !== H.msgId && !k.startsWith('Pw-Dlq-')) original.push([k, v]);
  // Per service: two services refusing one message of a shared stream (PW_EVENTS) each store a copy.
  const msgID = `dlq:${service}:${stream}:${msg.seq}`;
  const budget = maxPayloadOf(js) - PUBLISH_SLACK_BYTES - headerLineBytes(H.msgId, msgID);

  let kept = original;
  let body = data;
  let truncated: string | undefined;
  if (headerBytes([...own, ...original]) + data.length > budget) {
    truncated = 'payload';
    if (headerBytes(original) > budget * MAX_KEPT_HEADER_SHARE) {
      kept = original.filter(([k]) => k === H.traceparent || k === H.tracestate);
      truncated = 'payload,headers';
    }
    const room = budget - headerBytes([...own, ...kept, [H.dlqTruncated, truncated]]);
    body = data.subarray(0, Math.max(0, room));
  }
  const h = toHeaders([...kept, ...own, ...(truncated ? [[H.dlqTruncated, truncated] as [string, string]] : [])]);
  try {
    await js.publish(subjects.dlq(service), body, { headers: h, msgID });
    dlqStats.copied++;
    if (truncated) dlqStats.truncated++;
    log.warn({ subject: msg.subject, seq: msg.seq, reason, ...(truncated ? { truncated, size: data.length } : {}) }, 'message refused and copied to the DLQ');
  } catch (err) {
    dlqStats.failed++;
    // The original is still terminated: a DLQ outage must not turn a poison message into a loop.
    log.error({ err, subject: msg.subject, seq: msg.seq, reason }, 'could not copy a refused message to the DLQ');
  }
}

/** The server's max_payload as the connection learned it (the JetStream client's `nc` is not in its interface). */
function maxPayloadOf(js: JetStreamClient): number {
  const info = (js as JetStreamClient & { nc?: { info?: { max_payload?: number } } }).nc?.info;
  return info?.max_payload && info.max_payload > 0 ? info.max_payload : DEFAULT_MAX_PAYLOAD_BYTES;
}

/** Bytes of headers on the wire: `NATS/1.0\r\n`, a `key: value\r\n` line each, and a closing `\r\n`. */
function headerBytes(lines: readonly (readonly [string, string])[]): number {
  let n = 12;
  for (const [k, v] of lines) n += headerLineBytes(k, v);
  return n;
}

function headerLineBytes(k: string, v: string): number {
  return Buffer.byteLength(k) + Buffer.byteLength(v) + 4;
}

function toHeaders(lines: readonly (readonly [string, string])[]): MsgHdrs {
  const h = natsHeaders();
  for (const [k, v] of lines) h.append(k, v);
  return h;
}
