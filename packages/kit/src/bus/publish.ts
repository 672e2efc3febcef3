import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import type { Context } from '@opentelemetry/api';
import { headers as H } from '@pipewright/contracts';
import { injectTrace } from '../telemetry/propagation.js';

export interface PublishOptions {
  /** Deterministic id: JetStream drops a second publish with the same id inside the duplicate window. */
  msgId?: string;
  /** Trace context to propagate; the active one by default. */
  context?: Context;
  /** Extra headers. */
  headers?: Readonly<Record<string, string>>;
}

const encoder = new TextEncoder();

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

export function buildHeaders(opts: PublishOptions): MsgHdrs {
  const h = natsHeaders();
  if (opts.msgId !== undefined) h.set(H.msgId, opts.msgId);
  for (const [k, v] of Object.entries(opts.headers ?? {})) h.set(k, v);
  injectTrace(h, opts.context);
  return h;
}

/**
 * Publishes a JSON message to a stream and waits for the stream's acknowledgement, so a publish that
 * returns is stored. A duplicate (same msgId) resolves too, with `duplicate: true`.
 */
export async function publishJson(js: JetStreamClient, subject: string, value: unknown, opts: PublishOptions = {}): Promise<PubAck> {
  const h = buildHeaders(opts);
  return js.publish(subject, encodeJson(value), opts.msgId !== undefined ? { headers: h, msgID: opts.msgId } : { headers: h });
}
