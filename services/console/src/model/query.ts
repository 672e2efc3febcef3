import { RunStatus, type RunListQuery, type RunSummary, type ValidationIssue } from '@pipewright/contracts';
import type { Keyed } from './sorted-runs.js';

/** A list query as the index uses it: every field checked, the cursor decoded. */
export interface ListFilter {
  statuses?: ReadonlySet<RunStatus>;
  pipeline?: string;
  tenant?: string;
  /** `key=value` pairs, all required. */
  labels: readonly (readonly [string, string])[];
  sinceMs?: number;
  untilMs?: number;
  /** Runs strictly before this key (the last run of the previous page). */
  after?: Keyed;
  limit: number;
}

export type FilterResult = { ok: true; filter: ListFilter } | { ok: false; issues: ValidationIssue[] };

/** `k=v` → [k, v]; the key may not be empty (the value may). */
export function parseLabel(text: string): [string, string] | undefined {
  const at = text.indexOf('=');
  if (at <= 0) return undefined;
  return [text.slice(0, at), text.slice(at + 1)];
}

/** The opaque cursor: base64url of `<createdAt ms>:<runId>`, the last run of the page. */
export function encodeCursor(k: Keyed): string {
  return Buffer.from(`${k.createdAtMs}:${k.runId}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): Keyed | undefined {
  const m = /^(\d{1,15}):([A-Za-z0-9_-]{1,64})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return m ? { createdAtMs: Number(m[1]), runId: m[2]! } : undefined;
}

/** Checks the parts of a (schema-valid) query the schema leaves as text: statuses, labels, the cursor. */
export function toFilter(q: RunListQuery): FilterResult {
  const issues: ValidationIssue[] = [];
  let statuses: Set<RunStatus> | undefined;
  if (q.status !== undefined) {
    statuses = new Set();
    for (const s of q.status.split(',').map((x) => x.trim())) {
      const parsed = RunStatus.safeParse(s);
      if (parsed.success) statuses.add(parsed.data);
      else issues.push({ path: 'status', message: `unknown status "${s.slice(0, 40)}" (one of ${RunStatus.options.join(', ')})` });
    }
  }
  const labels: [string, string][] = [];
  for (const l of q.label === undefined ? [] : Array.isArray(q.label) ? q.label : [q.label]) {
    const kv = parseLabel(l);
    if (kv && kv[0].length <= 64 && kv[1].length <= 256) labels.push(kv);
    else issues.push({ path: 'label', message: 'a label filter is key=value (key 1-64 characters, value up to 256)' });
  }
  if (labels.length > 16) issues.push({ path: 'label', message: 'at most 16 label filters' });
  const after = q.cursor !== undefined ? decodeCursor(q.cursor) : undefined;
  if (q.cursor !== undefined && after === undefined) issues.push({ path: 'cursor', message: 'not a cursor this API gave out' });
  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    filter: {
      ...(statuses ? { statuses } : {}),
      ...(q.pipeline !== undefined ? { pipeline: q.pipeline } : {}),
      ...(q.tenant !== undefined ? { tenant: q.tenant } : {}),
      labels,
      ...(q.since !== undefined ? { sinceMs: Date.parse(q.since) } : {}),
      ...(q.until !== undefined ? { untilMs: Date.parse(q.until) } : {}),
      ...(after ? { after } : {}),
      limit: q.limit,
    },
  };
}

/** Whether a run (an index entry or a summary: the same fields) passes the filter's conditions (paging aside). */
export function matches(r: Pick<RunSummary, 'status' | 'pipeline' | 'tenant' | 'labels'>, f: Pick<ListFilter, 'statuses' | 'pipeline' | 'tenant' | 'labels'>): boolean {
  if (f.statuses && !f.statuses.has(r.status)) return false;
  if (f.pipeline !== undefined && r.pipeline !== f.pipeline) return false;
  if (f.tenant !== undefined && r.tenant !== f.tenant) return false;
  for (const [k, v] of f.labels) if (r.labels[k] !== v) return false;
  return true;
}
