import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import type { Context, Link } from '@opentelemetry/api';
import { headers as H } from '@pipewright/contracts';
import { injectTrace } from '../telemetry/propagation.js';
import { SIGNATURE_HEADERS, type MessageSigner } from './auth/signature.js';
import { tracedPublish } from './publish-span.js';

export interface PublishOptions {
  /** Deterministic id: JetStream drops a second publish with the same id inside the duplicate window. */
  msgId?: string;
  /** Trace context to propagate; the active one by default. */
  context?: Context;
  /** Spans the publish's PRODUCER span links to (follows from) without being their child. */
  links?: Link[];
  /** Extra headers. */
  headers?: Readonly<Record<string, string>>;
  /** Signs the subject and payload bytes (headers `Pw-Signer`, `Pw-Signature`): see bus/auth/signature.ts. */
  signer?: MessageSigner;
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
  return tracedPublish(subject, value, opts.context, opts.msgId, (context) => publishTraced(js, subject, value, { ...opts, context }), opts.links);
}

async function publishTraced(js: JetStreamClient, subject: string, value: unknown, opts: PublishOptions): Promise<PubAck> {
  const data = encodeJson(value);
  const h = buildHeaders(opts);
  let msgID = opts.msgId;
  if (opts.signer) {
    opts.signer.sign(subject, data, h);
    // A signed message's id carries its signature (ed25519 is deterministic: a republish of the same
    // bytes gets the same id, and is still deduplicated), so a forged copy published first under the
    // plain id cannot make JetStream drop the real one as a duplicate.
    if (msgID !== undefined) h.set(H.msgId, (msgID = `${msgID}:${h.get(SIGNATURE_HEADERS.signature).slice(0, 22)}`));
  }
  return js.publish(subject, data, msgID !== undefined ? { headers: h, msgID } : { headers: h });
}
