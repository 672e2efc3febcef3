import { context, propagation, ROOT_CONTEXT, trace, type Context } from '@opentelemetry/api';
import type { MsgHdrs } from '@nats-io/transport-node';

/** Writes the W3C `traceparent` (and `tracestate`) of `ctx` into NATS headers. */
export function injectTrace(hdrs: MsgHdrs, ctx: Context = context.active()): void {
  propagation.inject(ctx, hdrs, { set: (carrier, key, value) => carrier.set(key, value) });
}

/** Reads the trace context from NATS headers; an empty context when there is none. */
export function extractTrace(hdrs: MsgHdrs | undefined): Context {
  if (!hdrs) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, hdrs, {
    get: (carrier, key) => carrier.get(key) || undefined,
    keys: (carrier) => carrier.keys(),
  });
}

/** A context whose parent is the span a `traceparent` string names (for runs resumed from a checkpoint). */
export function contextFromTraceparent(traceparent: string | undefined): Context {
  if (!traceparent) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, { traceparent }, {
    get: (carrier, key) => carrier[key as 'traceparent'],
    keys: (carrier) => Object.keys(carrier),
  });
}

/** The `traceparent` of the active span, to store with a run. */
export function currentTraceparent(ctx: Context = context.active()): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier['traceparent'];
}

/** Trace id of the active span, for replies and UIs. */
export function currentTraceId(ctx: Context = context.active()): string | undefined {
  const sc = trace.getSpanContext(ctx);
  return sc?.traceId;
}

/** Reads the trace context from HTTP request headers (`traceparent`); an empty context when there is none. */
export function extractTraceFromHttp(header: (name: string) => string | undefined): Context {
  return propagation.extract(ROOT_CONTEXT, header, {
    get: (h, key) => h(key),
    keys: () => ['traceparent', 'tracestate', 'baggage'],
  });
}
