import { html, type Html } from '@pipewright/kit';
import { RunStatus, type RunSummary } from '@pipewright/contracts';
import type { Viewer } from '../context.js';
import { filterQuery, WITHIN_MS, type Filters } from '../filters.js';
import { ago, count, labelChips, span, statusBadge, usd } from './format.js';
import { layout } from './layout.js';

/** Status choices of the filter: each status, and two groups a person often wants. */
const STATUS_CHOICES: readonly [string, string][] = [
  ['any', 'any status'],
  ['queued,running,waiting_approval,paused', 'not finished'],
  ['failed,cancelled,budget_exhausted,timed_out', 'stopped without success'],
  ...RunStatus.options.map((s): [string, string] => [s, s.replaceAll('_', ' ')]),
];

export interface RunsModel {
  viewer: Viewer;
  filters: Filters;
  runs: readonly RunSummary[];
  nextCursor?: string;
  problems: readonly string[];
  now: number;
}

export function runsPage(m: RunsModel): Html {
  const f = m.filters;
  const firstPage = f.cursor === '';
  const live = firstPage && m.problems.length === 0;
  const body = html`<h1>Runs ${live ? html`<span class="live" id="live" hidden>live</span>` : ''}</h1>
${filterForm(f)}
${m.problems.length > 0 ? html`<ul class="error" role="alert">${m.problems.map((p) => html`<li>${p}</li>`)}</ul>` : ''}
${f.labels.length > 0 && m.problems.length === 0 ? html`<p class="batch-link"><a href="/batch?${batchQuery(f.labels)}">Batch progress of ${f.labels.join(', ')} →</a></p>` : ''}
<table class="runs">
<thead><tr><th>Run</th><th>Status</th><th>Pipeline</th><th>Labels</th><th>Steps</th><th class="num">Cost</th><th class="num">Tokens</th><th>Created</th><th>Took</th></tr></thead>
<tbody id="runs-body"${live ? html` data-live="/runs/live?${filterQuery(f)}"` : ''}>${runRows(m.runs, m.now)}</tbody>
</table>
<nav class="pager">${firstPage ? '' : html`<a href="/runs?${filterQuery(f)}">← First page</a>`}${m.nextCursor ? html`<a href="/runs?${filterQuery(f, { cursor: m.nextCursor })}" rel="next">Next page →</a>` : ''}${firstPage ? '' : html`<span class="hint">Live updates show on the first page.</span>`}</nav>`;
  return layout('Runs', body, m.viewer);
}

/** The rows of the list: also what the live stream sends when they change. */
export function runRows(runs: readonly RunSummary[], now: number): Html {
  if (runs.length === 0) return html`<tr class="empty"><td colspan="9">No runs match.</td></tr>`;
  return html`${runs.map((r) => runRow(r, now))}`;
}

function runRow(r: RunSummary, now: number): Html {
  const took = r.finishedAt ? span(Date.parse(r.finishedAt) - Date.parse(r.createdAt)) : '';
  return html`<tr id="run-${r.runId}" class="row st-${r.status}">
<td><a href="/runs/${encodeURIComponent(r.runId)}"><code>${r.runId}</code></a>${r.rerunOf ? html` <span class="hint">re-run</span>` : ''}</td>
<td>${statusBadge(r.status)}</td>
<td>${r.pipeline}</td>
<td class="labels">${labelChips(r.labels)}</td>
<td><progress max="${Math.max(1, r.steps.total)}" value="${r.steps.succeeded}"></progress> ${r.steps.succeeded}/${r.steps.total}</td>
<td class="num">${usd(r.costUsd)}</td>
<td class="num">${count(r.totalTokens)}</td>
<td>${ago(r.createdAt, now)}</td>
<td>${took}</td>
</tr>`;
}

function filterForm(f: Filters): Html {
  const labelInputs = [...f.labels, ''];
  return html`<form method="get" action="/runs" class="filters">
<label>Status <select name="status">${STATUS_CHOICES.map(([v, text]) => html`<option value="${v}"${v === (f.status || 'any') ? html` selected` : ''}>${text}</option>`)}</select></label>
<label>Pipeline <input name="pipeline" value="${f.pipeline}" maxlength="128" placeholder="any"></label>
${labelInputs.map((l, i) => html`<label>Label <input name="label" value="${l}" maxlength="330" placeholder="key=value"${i === labelInputs.length - 1 && i > 0 ? html` aria-label="Another label"` : ''}></label>`)}
<label>Created within <select name="within"><option value="">any time</option>${Object.keys(WITHIN_MS).map((w) => html`<option value="${w}"${w === f.within ? html` selected` : ''}>${w}</option>`)}</select></label>
<label>or from (UTC) <input type="datetime-local" name="since" value="${f.since}"></label>
<label>to (UTC) <input type="datetime-local" name="until" value="${f.until}"></label>
<button type="submit" class="primary">Filter</button> <a href="/runs">Clear</a>
</form>`;
}

export function batchQuery(labels: readonly string[]): string {
  const p = new URLSearchParams();
  for (const l of labels) p.append('label', l);
  return p.toString();
}
