import { Labels, RunListQuery } from '@pipewright/contracts';

/** More label filters than this in one query are refused: each one costs an index lookup. */
export const MAX_LABEL_FILTERS = 8;
/** Runs per page of the list. */
export const PAGE_SIZE = 50;

/** The "created within" choices of the filter form, in milliseconds. */
export const WITHIN_MS: Readonly<Record<string, number>> = { '15m': 15 * 60_000, '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000 };

/** The filter form as the person filled it in (shown again as typed, errors or not). */
export interface Filters {
  status: string;
  pipeline: string;
  /** `key=value`, one per label. */
  labels: string[];
  within: string;
  /** `datetime-local` values (UTC) or ISO timestamps. */
  since: string;
  until: string;
  cursor: string;
}

export type FilterResult = { ok: true; filters: Filters; labels: Labels; query: RunListQuery } | { ok: false; filters: Filters; problems: string[] };

/** Reads the runs list's filters from a query string; `now` anchors "created within". */
export function readFilters(params: URLSearchParams, now: number): FilterResult {
  const one = (name: string) => (params.get(name) ?? '').trim();
  const filters: Filters = {
    status: one('status'),
    pipeline: one('pipeline'),
    labels: params.getAll('label').map((l) => l.trim()).filter((l) => l !== ''),
    within: one('within'),
    since: one('since'),
    until: one('until'),
    cursor: one('cursor'),
  };
  const problems: string[] = [];
  const labels = readLabels(filters.labels, problems);
  // "created within" is a range of its own: a from/to typed beside it is ignored (and dropped from links).
  const since = filters.within !== '' ? withinStart(filters.within, now, problems) : timestamp('since', filters.since, problems);
  const until = filters.within !== '' ? undefined : timestamp('until', filters.until, problems);
  const parsed = RunListQuery.safeParse({
    ...(filters.status && filters.status !== 'any' ? { status: filters.status } : {}),
    ...(filters.pipeline ? { pipeline: filters.pipeline } : {}),
    ...(filters.labels.length > 0 && problems.length === 0 ? { label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) } : {}),
    ...(since ? { since } : {}),
    ...(until ? { until } : {}),
    ...(filters.cursor ? { cursor: filters.cursor } : {}),
    limit: PAGE_SIZE,
  });
  if (!parsed.success) problems.push(...parsed.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`));
  if (problems.length > 0 || !parsed.success) return { ok: false, filters, problems };
  return { ok: true, filters, labels, query: parsed.data };
}

/** `key=value` texts as labels; a bad one (no `=`, too long, too many) is a problem named. */
export function readLabels(texts: readonly string[], problems: string[]): Labels {
  if (texts.length > MAX_LABEL_FILTERS) {
    problems.push(`at most ${MAX_LABEL_FILTERS} labels`);
    return {};
  }
  const labels: Record<string, string> = {};
  for (const text of texts) {
    const at = text.indexOf('=');
    if (at <= 0) {
      problems.push(`label "${text}": write it as key=value`);
      continue;
    }
    labels[text.slice(0, at).trim()] = text.slice(at + 1).trim();
  }
  const checked = Labels.safeParse(labels);
  if (!checked.success) problems.push(...checked.error.issues.map((i) => `label ${i.path.join('.')}: ${i.message}`));
  return checked.success ? checked.data : {};
}

/** The query string of these filters (for links and the live stream), without the cursor unless asked. */
export function filterQuery(f: Filters, opts: { cursor?: string } = {}): string {
  const p = new URLSearchParams();
  if (f.status && f.status !== 'any') p.set('status', f.status);
  if (f.pipeline) p.set('pipeline', f.pipeline);
  for (const l of f.labels) p.append('label', l);
  if (f.within) p.set('within', f.within);
  else {
    if (f.since) p.set('since', f.since);
    if (f.until) p.set('until', f.until);
  }
  if (opts.cursor) p.set('cursor', opts.cursor);
  return p.toString();
}

function withinStart(within: string, now: number, problems: string[]): string | undefined {
  const ms = WITHIN_MS[within];
  if (ms === undefined) {
    problems.push(`within: one of ${Object.keys(WITHIN_MS).join(', ')}`);
    return undefined;
  }
  return new Date(now - ms).toISOString();
}

/** A `datetime-local` value (read as UTC: the page says so) or an ISO timestamp, as ISO. */
function timestamp(name: string, text: string, problems: string[]): string | undefined {
  if (text === '') return undefined;
  const local = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(text);
  const t = Date.parse(local ? `${text}Z` : text);
  if (Number.isNaN(t) || text.length > 40) {
    problems.push(`${name}: not a date and time (${text.slice(0, 40)})`);
    return undefined;
  }
  return new Date(t).toISOString();
}
