import { html, type Html } from '@pipewright/kit';
import { RunStatus, TERMINAL_STATUSES, type BatchStats } from '@pipewright/contracts';
import type { Viewer } from '../context.js';
import { ago, count, labelChips, span, statusBadge, usd } from './format.js';
import { layout } from './layout.js';
import { batchQuery } from './runs.js';

const BAR_WIDTH = 800;
const BAR_HEIGHT = 18;

export interface BatchModel {
  viewer: Viewer;
  /** `key=value` texts as given (for the form and links). */
  labelTexts: readonly string[];
  stats?: BatchStats;
  problems: readonly string[];
  now: number;
}

export function batchPage(m: BatchModel): Html {
  const form = html`<form method="get" action="/batch" class="filters">
${[...m.labelTexts, ''].map((l) => html`<label>Label <input name="label" value="${l}" maxlength="330" placeholder="key=value"></label>`)}
<button type="submit" class="primary">Show</button>
</form>`;
  const body = html`<h1>Batch progress ${m.stats ? html`<span class="live" id="live" hidden>live</span>` : ''}</h1>
${form}
${m.problems.length > 0 ? html`<ul class="error" role="alert">${m.problems.map((p) => html`<li>${p}</li>`)}</ul>` : ''}
${m.stats ? html`<div id="batch" data-live="/batch/live?${batchQuery(m.labelTexts)}">${batchBody(m.stats, m.labelTexts, m.now)}</div>` : m.problems.length === 0 ? html`<p class="hint">A batch is every run carrying the labels you name (e.g. <code>batch=nightly-0501</code>).</p>` : ''}`;
  return layout('Batch progress', body, m.viewer);
}

/** The batch's figures: also what the live stream sends when they change. */
export function batchBody(s: BatchStats, labelTexts: readonly string[], now: number): Html {
  const finished = RunStatus.options.filter((st) => TERMINAL_STATUSES.has(st)).reduce((n, st) => n + (s.counts[st] ?? 0), 0);
  const remaining = s.total - finished;
  const eta = s.throughputPerMin > 0 && remaining > 0 ? span((remaining / s.throughputPerMin) * 60_000) : undefined;
  const runsOf = (status?: string) => `/runs?${batchQuery(labelTexts)}${status ? `&status=${status}` : ''}`;
  return html`<p class="chips">${labelChips(s.labels)} · <a href="${runsOf()}">the runs →</a></p>
${statusBar(s)}
<dl class="figures">
<div><dt>Runs</dt><dd id="batch-total">${count(s.total)}</dd></div>
<div><dt>Finished</dt><dd id="batch-finished">${count(finished)} <span class="hint">(${s.total > 0 ? Math.round((finished / s.total) * 100) : 0}%)</span></dd></div>
<div><dt>Throughput</dt><dd>${s.throughputPerMin.toFixed(1)} <span class="hint">runs/min (last 5 min)</span></dd></div>
<div><dt>Cost so far</dt><dd id="batch-cost">${usd(s.costUsd)}</dd></div>
<div><dt>Tokens</dt><dd>${count(s.totalTokens)}</dd></div>
<div><dt>Started</dt><dd>${s.firstCreatedAt ? ago(s.firstCreatedAt, now) : '–'}</dd></div>
<div><dt>Last finished</dt><dd>${s.lastFinishedAt ? ago(s.lastFinishedAt, now) : '–'}</dd></div>
<div><dt>Left</dt><dd>${count(remaining)}${eta ? html` <span class="hint">(about ${eta})</span>` : ''}</dd></div>
</dl>
<table class="counts"><thead><tr><th>Status</th><th class="num">Runs</th></tr></thead><tbody>
${RunStatus.options.filter((st) => (s.counts[st] ?? 0) > 0).map((st) => html`<tr><td><a href="${runsOf(st)}">${statusBadge(st)}</a></td><td class="num" data-status="${st}">${count(s.counts[st] ?? 0)}</td></tr>`)}
</tbody></table>
<h2>Failures <span class="count">${s.failures.length}</span></h2>
${s.failures.length === 0 ? html`<p class="empty">None so far.</p>` : html`<table class="runs failures"><thead><tr><th>Run</th><th>Status</th><th>Why</th><th>Ended</th></tr></thead><tbody>
${s.failures.map((r) => html`<tr><td><a href="/runs/${encodeURIComponent(r.runId)}"><code>${r.runId}</code></a></td><td>${statusBadge(r.status)}</td><td class="reason">${r.reason ?? ''}</td><td>${r.finishedAt ? ago(r.finishedAt, now) : ''}</td></tr>`)}
</tbody></table>`}`;
}

/** One bar, a segment per status in proportion to its runs (SVG attributes: the CSP forbids inline styles). */
function statusBar(s: BatchStats): Html {
  let x = 0;
  const segments = RunStatus.options.flatMap((st) => {
    const n = s.counts[st] ?? 0;
    if (n === 0 || s.total === 0) return [];
    const w = (n / s.total) * BAR_WIDTH;
    const seg = html`<rect class="fill-${st}" x="${x.toFixed(1)}" y="0" width="${w.toFixed(1)}" height="${BAR_HEIGHT}"><title>${st}: ${n}</title></rect>`;
    x += w;
    return [seg];
  });
  return html`<svg class="bar" viewBox="0 0 ${BAR_WIDTH} ${BAR_HEIGHT}" preserveAspectRatio="none" role="img" aria-label="runs by status"><rect class="fill-empty" x="0" y="0" width="${BAR_WIDTH}" height="${BAR_HEIGHT}"></rect>${segments}</svg>`;
}
