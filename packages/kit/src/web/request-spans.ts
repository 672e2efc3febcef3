import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_URL_PATH } from '../telemetry/semconv.js';
import { extractTraceFromHttp } from '../telemetry/propagation.js';

/** Requests that change something: reads and page loads make no span. */
const TRACED_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** What the middleware reads of a request (a Hono context has it). */
export interface TracedRequest {
  req: { method: string; path: string; header(name: string): string | undefined };
  res: { status: number };
}

/**
 * Middleware: a SERVER span per request that changes something, in the caller's trace when it sends a
 * `traceparent`, so what the request publishes (a decision, a run request) joins that trace. `routeOf`
 * names the span by route with ids left out, so span names do not grow per id.
 */
export function traceRequests(tracerName: string, routeOf: (path: string) => string): (c: TracedRequest, next: () => Promise<void>) => Promise<void> {
  const tracer = trace.getTracer(tracerName);
  return async (c, next) => {
    if (!TRACED_METHODS.has(c.req.method)) return next();
    const parent = extractTraceFromHttp((name) => c.req.header(name));
    const span = tracer.startSpan(`${c.req.method} ${routeOf(c.req.path)}`, { kind: SpanKind.SERVER, attributes: { [ATTR_HTTP_REQUEST_METHOD]: c.req.method, [ATTR_URL_PATH]: c.req.path } }, parent);
    try {
      await context.with(trace.setSpan(parent, span), next);
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, c.res.status);
      if (c.res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    } finally {
      span.end();
    }
  };
}
