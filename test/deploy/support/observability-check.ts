import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CONSUMER_LAG_METRICS, LOOP_DELAY_METRICS } from '@pipewright/kit';
import { parse } from 'yaml';

/**
 * Checks of what operators install from deploy/observability: the metric names every rule and panel
 * uses must be ones the services export (listed in docs/operations.md, whose table must list exactly
 * what the code registers), and each file must have the shape its tool loads. Each check returns the
 * problems it found, each naming its place; none means valid.
 */

export interface DocumentedMetric {
  name: string;
  type: 'counter' | 'gauge' | 'histogram';
  labels: string[];
}

/** The metrics table of docs/operations.md ("Metrics"): rows of `name | type | labels | meaning`. */
export function documentedMetrics(markdown: string): DocumentedMetric[] {
  const out: DocumentedMetric[] = [];
  for (const m of markdown.matchAll(/^\| `(pw_[a-z0-9_]+)` \| (counter|gauge|histogram) \|([^|]*)\|/gm))
    out.push({ name: m[1]!, type: m[2] as DocumentedMetric['type'], labels: [...m[3]!.matchAll(/`([a-z_]+)`/g)].map((l) => l[1]!) });
  return out;
}

/**
 * `pw_*` metrics the code registers, with their type and label names: each `new Counter|Gauge|Histogram({ name: 'pw_…' })`
 * up to the next such construction, and the kit's gauges named by constants.
 */
export function registeredMetrics(root: string): Map<string, { type: string; labels: string[] }> {
  const out = new Map<string, { type: string; labels: string[] }>();
  const dirs = ['packages/kit/src', ...readdirSync(join(root, 'services')).map((s) => `services/${s}/src`)];
  for (const file of dirs.flatMap((d) => tsFiles(join(root, d)))) {
    const text = readFileSync(file, 'utf8');
    const starts = [...text.matchAll(/new (Counter|Gauge|Histogram)\(\{\s*name: '(pw_[a-z0-9_]+)'/g)];
    for (const [i, m] of starts.entries()) {
      const body = text.slice(m.index, starts[i + 1]?.index ?? text.length);
      const labels = /labelNames: \[([^\]]*)\]/.exec(body)?.[1] ?? '';
      out.set(m[2]!, { type: m[1]!.toLowerCase(), labels: [...labels.matchAll(/'([a-z_]+)'/g)].map((l) => l[1]!) });
    }
  }
  for (const name of Object.values(LOOP_DELAY_METRICS)) out.set(name, { type: 'gauge', labels: [] });
  for (const name of Object.values(CONSUMER_LAG_METRICS)) out.set(name, { type: 'gauge', labels: ['stream', 'consumer'] });
  return out;
}

function tsFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The `pw_*` metric names an expression reads (a histogram's `_bucket`, `_sum`, `_count` series named by their metric). */
export function metricsIn(expr: string, histograms: ReadonlySet<string>): string[] {
  return [...expr.matchAll(/\bpw_[a-z0-9_]+/g)].map(([n]) => {
    const base = n.replace(/_(bucket|sum|count)$/, '');
    return base !== n && histograms.has(base) ? base : n;
  });
}

/** Syntax a PromQL parser would refuse first: unbalanced brackets, an unterminated string, an empty expression. */
export function promqlSyntaxProblems(expr: string): string[] {
  const stack: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  for (let i = 0; i < expr.length; i++) {
    const ch = expr[i]!;
    if (ch === '"' || ch === "'" || ch === '`') {
      const end = findStringEnd(expr, i);
      if (end < 0) return [`unterminated string at ${i}`];
      i = end;
    } else if (ch === '(' || ch === '[' || ch === '{') stack.push(ch);
    else if (ch in pairs && stack.pop() !== pairs[ch]) return [`unbalanced "${ch}" at ${i}`];
  }
  if (stack.length > 0) return [`unclosed "${stack.at(-1)}"`];
  return expr.trim() === '' ? ['empty expression'] : [];
}

function findStringEnd(s: string, start: number): number {
  for (let i = start + 1; i < s.length; i++) {
    if (s[i] === '\\' && s[start] !== '`') i++;
    else if (s[i] === s[start]) return i;
  }
  return -1;
}

const DURATION = /^\d+(ms|s|m|h|d|w|y)$/;
const SEVERITIES = new Set(['info', 'warning', 'critical']);

/** A Prometheus rule file: groups of named rules, each alert with an expression, a `for`, a severity and a summary. */
export function ruleProblems(text: string, known: ReadonlySet<string>, histograms: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    return [`not YAML: ${(err as Error).message}`];
  }
  const groups = (doc as { groups?: unknown } | null)?.groups;
  if (!Array.isArray(groups) || groups.length === 0) return ['no `groups`'];
  const names = new Set<string>();
  for (const [gi, g] of (groups as Record<string, unknown>[]).entries()) {
    const where = `groups[${gi}]`;
    if (typeof g['name'] !== 'string' || names.has(g['name'])) problems.push(`${where}: missing or repeated name`);
    names.add(String(g['name']));
    const rules = g['rules'];
    if (!Array.isArray(rules) || rules.length === 0) {
      problems.push(`${where}: no rules`);
      continue;
    }
    for (const [ri, r] of (rules as Record<string, unknown>[]).entries()) {
      const at = `${where}.rules[${ri}]${typeof r['alert'] === 'string' ? ` (${r['alert']})` : ''}`;
      const extra = Object.keys(r).filter((k) => !['alert', 'record', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations'].includes(k));
      if (extra.length > 0) problems.push(`${at}: unknown fields ${extra.join(', ')}`);
      if (typeof r['alert'] !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(r['alert'])) problems.push(`${at}: \`alert\` must be a name`);
      if (typeof r['expr'] !== 'string') {
        problems.push(`${at}: no \`expr\``);
        continue;
      }
      problems.push(...promqlSyntaxProblems(r['expr']).map((p) => `${at}: expr: ${p}`));
      for (const m of metricsIn(r['expr'], histograms)) if (!known.has(m)) problems.push(`${at}: expr reads ${m}, which no service exports`);
      if (r['for'] !== undefined && !(typeof r['for'] === 'string' && DURATION.test(r['for']))) problems.push(`${at}: \`for\` is not a duration`);
      const labels = r['labels'] as Record<string, unknown> | undefined;
      if (!SEVERITIES.has(String(labels?.['severity']))) problems.push(`${at}: labels.severity must be info, warning or critical`);
      const annotations = r['annotations'] as Record<string, unknown> | undefined;
      if (typeof annotations?.['summary'] !== 'string') problems.push(`${at}: no annotations.summary`);
    }
  }
  return problems;
}

/** `promtool check rules FILE`: its status and output. */
export function promtoolCheck(promtool: string, file: string): { ok: boolean; output: string } {
  const r = spawnSync(promtool, ['check', 'rules', file], { encoding: 'utf8', timeout: 60_000 });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}
