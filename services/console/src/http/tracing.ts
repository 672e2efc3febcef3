import { traceRequests as traceWith } from '@pipewright/kit';
import type { MiddlewareHandler } from 'hono';

/**
 * A SERVER span per request that changes something, in the caller's trace when it sends a
 * `traceparent`: a run submitted through the API then belongs to the caller's trace (the planner makes
 * the run's span a child of the submission's).
 */
export function traceRequests(): MiddlewareHandler {
  return traceWith('pipewright.console', routeOf);
}

/** `/api/v1/runs/{runId}/cancel`: the run id left out, so span names do not grow per run. */
function routeOf(path: string): string {
  return path.replace(/^(\/api\/v1\/runs)\/(?!cancel$)[^/]+/, '$1/{runId}');
}
