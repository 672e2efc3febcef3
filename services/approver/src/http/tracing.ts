import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_URL_PATH, extractTraceFromHttp } from '@pipewright/kit';
import type { MiddlewareHandler } from 'hono';

/** Requests that change something (a decision, a sign-in): reads and page loads make no span. */
const TRACED_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * A SERVER span per request that changes something, in the caller's trace when it sends a
 * `traceparent`. A decision made in it links the approval's wait span to it (see ApprovalEvents), so the
 * run's trace leads to the request that decided, and back.
 */
export function traceRequests(): MiddlewareHandler {
  const tracer = trace.getTracer('pipewright.approver');
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

/** `/api/approvals/{id}/approve`: the path with the approval id left out, so names do not grow per approval. */
function routeOf(path: string): string {
  return path.replace(/^(\/(?:api|inbox)\/approvals)\/[^/]+/, '$1/{id}');
}
