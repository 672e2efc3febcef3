import { parse } from 'yaml';
import { metricsIn, promqlSyntaxProblems } from './observability-check.js';

/** Panel types the dashboard may use (all built into Grafana 10+). */
const PANEL_TYPES = new Set(['row', 'timeseries', 'stat', 'gauge', 'table', 'bargauge', 'text']);
const GRID_COLUMNS = 24;

export interface PanelQuery {
  panel: string;
  expr: string;
}

/**
 * A Grafana dashboard as Grafana imports it: title, uid, schemaVersion, a `datasource` variable that
 * every query uses, and panels with unique ids, a type Grafana knows, a place on the 24-column grid,
 * and queries whose metrics the services export. Returns the problems and every query (for promtool).
 */
export function dashboardProblems(text: string, known: ReadonlySet<string>, histograms: ReadonlySet<string>): { problems: string[]; queries: PanelQuery[] } {
  const problems: string[] = [];
  const queries: PanelQuery[] = [];
  let d: Record<string, unknown>;
  try {
    d = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    return { problems: [`not JSON: ${(err as Error).message}`], queries };
  }
  for (const k of ['title', 'uid'] as const) if (typeof d[k] !== 'string' || d[k] === '') problems.push(`no ${k}`);
  if (typeof d['schemaVersion'] !== 'number') problems.push('no schemaVersion');
  const vars = ((d['templating'] as { list?: Record<string, unknown>[] } | undefined)?.list ?? []);
  if (!vars.some((v) => v['name'] === 'datasource' && v['type'] === 'datasource' && v['query'] === 'prometheus')) problems.push('no `datasource` variable of type prometheus');
  const panels = d['panels'];
  if (!Array.isArray(panels) || panels.length === 0) return { problems: [...problems, 'no panels'], queries };
  const ids = new Set<number>();
  for (const p of (panels as Record<string, unknown>[]).flatMap((p) => [p, ...((p['panels'] as Record<string, unknown>[] | undefined) ?? [])])) {
    const at = `panel ${String(p['id'])} "${String(p['title'])}"`;
    if (typeof p['id'] !== 'number' || ids.has(p['id'])) problems.push(`${at}: missing or repeated id`);
    ids.add(p['id'] as number);
    if (typeof p['title'] !== 'string' || p['title'] === '') problems.push(`${at}: no title`);
    if (!PANEL_TYPES.has(String(p['type']))) problems.push(`${at}: unknown type ${String(p['type'])}`);
    const g = p['gridPos'] as Record<string, unknown> | undefined;
    const [x, y, w, h] = ['x', 'y', 'w', 'h'].map((k) => g?.[k]);
    if (![x, y, w, h].every((n) => typeof n === 'number' && Number.isInteger(n) && n >= 0) || (w as number) < 1 || (x as number) + (w as number) > GRID_COLUMNS)
      problems.push(`${at}: gridPos must be integers within ${GRID_COLUMNS} columns`);
    if (p['type'] === 'row') continue;
    const targets = p['targets'];
    if (!Array.isArray(targets) || targets.length === 0) {
      problems.push(`${at}: no queries`);
      continue;
    }
    if ((p['datasource'] as { uid?: unknown } | undefined)?.uid !== '${datasource}') problems.push(`${at}: datasource is not the \${datasource} variable`);
    const refIds = new Set<string>();
    for (const t of targets as Record<string, unknown>[]) {
      if (typeof t['refId'] !== 'string' || refIds.has(t['refId'])) problems.push(`${at}: missing or repeated refId`);
      refIds.add(String(t['refId']));
      const expr = t['expr'];
      if (typeof expr !== 'string') {
        problems.push(`${at}: query ${String(t['refId'])} has no expr`);
        continue;
      }
      problems.push(...promqlSyntaxProblems(expr).map((e) => `${at}: ${e}`));
      const read = metricsIn(expr, histograms);
      if (read.length === 0) problems.push(`${at}: query ${String(t['refId'])} reads no pw_ metric`);
      for (const m of read) if (!known.has(m)) problems.push(`${at}: reads ${m}, which no service exports`);
      queries.push({ panel: at, expr });
    }
  }
  return { problems, queries };
}

/**
 * An OpenTelemetry Collector config: OTLP in (gRPC and HTTP), a traces pipeline whose receivers,
 * processors and exporters are all defined (the collector refuses to start otherwise), extensions
 * enabled only when defined.
 */
export function collectorProblems(text: string): string[] {
  let c: Record<string, Record<string, unknown> | undefined>;
  try {
    c = parse(text) as typeof c;
  } catch (err) {
    return [`not YAML: ${(err as Error).message}`];
  }
  const problems: string[] = [];
  const protocols = (c['receivers']?.['otlp'] as { protocols?: Record<string, unknown> } | undefined)?.protocols;
  if (!protocols?.['grpc'] || !protocols['http']) problems.push('receivers.otlp must take both grpc and http');
  const service = c['service'] as { pipelines?: Record<string, Record<string, unknown>>; extensions?: unknown } | undefined;
  const pipelines = service?.pipelines ?? {};
  if (!pipelines['traces']) problems.push('no service.pipelines.traces');
  for (const [name, p] of Object.entries(pipelines)) {
    for (const section of ['receivers', 'processors', 'exporters'] as const) {
      const used = p[section];
      if (section !== 'processors' && (!Array.isArray(used) || used.length === 0)) problems.push(`pipeline ${name}: no ${section}`);
      for (const id of Array.isArray(used) ? (used as unknown[]) : []) if (c[section]?.[String(id)] === undefined) problems.push(`pipeline ${name}: ${section} "${String(id)}" is not defined`);
    }
  }
  for (const id of Array.isArray(service?.extensions) ? (service.extensions as unknown[]) : []) if (c['extensions']?.[String(id)] === undefined) problems.push(`extension "${String(id)}" is not defined`);
  return problems;
}
