import { createHash } from 'node:crypto';
import type { RerunRequest } from './run-control.js';
import type { RunRequest } from './run-request.js';

/**
 * Canonical JSON: object keys sorted, `undefined` members left out (as JSON.stringify does), so two
 * values that mean the same encode the same whatever order their keys were written in.
 */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : canonicalJson(x))).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const members = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/**
 * The digest of a run request (or a re-run request): SHA-256 hex of its canonical JSON without `runId`.
 * Pass the *parsed* request (`RunRequest.parse(…)`: defaults filled in), so that a request written
 * with and without a default value is the same request. The planner stores it with the run: the same
 * run id sent again with another digest is refused (`run.rejected`, reason `conflict`). Publishers
 * put its start in the submit's message id (`msgIds.submit(runId, digest)`), so that JetStream's
 * duplicate window drops only the same request sent twice, never a different one.
 */
export function requestDigest(request: RunRequest | RerunRequest): string {
  const { runId: _runId, ...rest } = request;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}
