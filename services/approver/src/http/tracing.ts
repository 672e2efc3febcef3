import { traceRequests as traceWith } from '@pipewright/kit';
import type { MiddlewareHandler } from 'hono';

/**
 * A SERVER span per request that changes something (kit's traceRequests). A decision made in it links
 * the approval's wait span to it (see ApprovalEvents), so the run's trace leads to the request that
 * decided, and back.
 */
export function traceRequests(): MiddlewareHandler {
  return traceWith('pipewright.approver', routeOf);
}

/** `/api/approvals/{id}/approve`: the path with the approval id left out, so names do not grow per approval. */
function routeOf(path: string): string {
  return path.replace(/^(\/(?:api|inbox)\/approvals)\/[^/]+/, '$1/{id}');
}
