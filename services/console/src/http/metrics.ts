import { Counter, Histogram, type Registry } from '@pipewright/kit';
import type { MiddlewareHandler } from 'hono';

/** Latency buckets of an API answer, in seconds: a list page is milliseconds, a cold read of a run with large outputs may take a second. */
const DURATION_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Counts every answer by method, route pattern (never the raw path: run ids would make a series each)
 * and status, and times those that are not event streams (an SSE answer lasts as long as its reader).
 */
export function httpMetrics(registry: Registry): MiddlewareHandler {
  const requests = new Counter({ name: 'pw_console_http_requests_total', help: 'console: HTTP answers by method, route and status', labelNames: ['method', 'route', 'status'], registers: [registry] });
  const duration = new Histogram({
    name: 'pw_console_http_request_duration_seconds',
    help: 'console: time to answer an HTTP request (event streams not timed)',
    labelNames: ['method', 'route'],
    buckets: DURATION_BUCKETS_S,
    registers: [registry],
  });
  return async (c, next) => {
    const started = performance.now();
    await next();
    const route = c.req.routePath || 'unmatched';
    const method = c.req.method;
    requests.inc({ method, route, status: String(c.res.status) });
    if (!(c.res.headers.get('content-type') ?? '').startsWith('text/event-stream')) duration.observe({ method, route }, (performance.now() - started) / 1000);
  };
}
