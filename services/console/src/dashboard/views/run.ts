import { html, safeHref, type Html } from '@pipewright/kit';
import { RESUMABLE_STATUSES, TERMINAL_STATUSES, type RunDetail } from '@pipewright/contracts';
import type { Viewer } from '../context.js';
import { dagSvg } from './dag.js';
import { ago, count, labelChips, span, statusBadge, usd, utc } from './format.js';
import { layout } from './layout.js';
import { inboxHref, jsonBlock, stepCard } from './steps.js';

/** Statuses a run can be resumed from (the planner refuses the others). */

export interface RunPageModel {
  viewer: Viewer;
  run: RunDetail;
  jaegerUrl?: string;
  inboxUrl?: string;
  notice?: string;
  now: number;
}

export function runPage(m: RunPageModel): Html {
  const body = html`<p class="crumbs"><a href="/runs">Runs</a> / <code>${m.run.runId}</code> <span class="live" id="live" hidden>live</span></p>
${m.notice ? html`<p class="notice" role="status">${m.notice}</p>` : ''}
<div id="run" data-live="/runs/${encodeURIComponent(m.run.runId)}/live">${runBody(m)}</div>`;
  return layout(`Run ${m.run.runId}`, body, m.viewer);
}

/** Everything below the notice: also what the live stream sends as the run changes. */
export function runBody(m: Omit<RunPageModel, 'notice'>): Html {
  const r = m.run;
  const canOperate = m.viewer.role === 'operate';
  const base = `/runs/${encodeURIComponent(r.runId)}`;
  const finished = TERMINAL_STATUSES.has(r.status);
  const traceHref = r.traceUrl ? safeHref(r.traceUrl) : r.traceId && m.jaegerUrl ? safeHref(`${m.jaegerUrl.replace(/\/+$/, '')}/trace/${encodeURIComponent(r.traceId)}`) : undefined;
  const pending = r.approvals.filter((a) => a.status === 'pending');
  return html`<header class="run-head">
<h1><code>${r.runId}</code> ${statusBadge(r.status)}</h1>
${canOperate ? html`<div class="actions">
${!finished && r.stepList.some((s) => s.signal) ? html`<a class="button primary" href="${base}/confirm/signal">Send signal…</a>` : ''}
${finished ? '' : html`<a class="button danger" href="${base}/confirm/cancel">Cancel…</a>`}
${RESUMABLE_STATUSES.has(r.status) ? html`<a class="button primary" href="${base}/confirm/resume">Resume…</a>` : ''}
${finished ? html`<a class="button" href="${base}/confirm/rerun">Re-run…</a>` : ''}
</div>` : ''}
</header>
${r.reason ? html`<p class="reason st-${r.status}">${r.reason}</p>` : ''}
<dl class="facts run-facts">
<dt>Pipeline</dt><dd>${r.pipeline}</dd>
<dt>Tenant</dt><dd>${r.tenant}</dd>
${Object.keys(r.labels).length > 0 ? html`<dt>Labels</dt><dd>${labelChips(r.labels)}</dd>` : ''}
<dt>Steps</dt><dd><progress max="${Math.max(1, r.steps.total)}" value="${r.steps.succeeded}"></progress> ${r.steps.succeeded}/${r.steps.total} succeeded</dd>
<dt>Cost</dt><dd>${usd(r.costUsd)}${r.budget?.maxUsd !== undefined ? html` <span class="hint">of ${usd(r.budget.maxUsd)}</span>` : ''}</dd>
<dt>Tokens</dt><dd>${count(r.usage.inputTokens)} in · ${count(r.usage.outputTokens)} out${r.budget?.maxTokens !== undefined ? html` <span class="hint">(limit ${count(r.budget.maxTokens)})</span>` : ''}</dd>
<dt>Created</dt><dd>${utc(r.createdAt)} (${ago(r.createdAt, m.now)})</dd>
${r.finishedAt ? html`<dt>Finished</dt><dd>${utc(r.finishedAt)} <span class="hint">after ${span(Date.parse(r.finishedAt) - Date.parse(r.createdAt))}</span></dd>` : ''}
${r.deadlineAt && !finished ? html`<dt>Deadline</dt><dd>${utc(r.deadlineAt)}</dd>` : ''}
${r.rerunOf ? html`<dt>Re-run of</dt><dd><a href="/runs/${encodeURIComponent(r.rerunOf.runId)}"><code>${r.rerunOf.runId}</code></a> from step <code>${r.rerunOf.stepId}</code></dd>` : ''}
<dt>Trace</dt><dd>${traceHref ? html`<a href="${traceHref}" rel="noopener noreferrer" target="_blank">open in Jaeger <code>${r.traceId ?? ''}</code></a>` : r.traceId ? html`<code>${r.traceId}</code>` : html`<span class="hint">none</span>`}</dd>
</dl>
${pending.length > 0 ? html`<section class="pending"><h2>Waiting for a decision</h2><ul>${pending.map((a) => {
    const href = inboxHref(m.inboxUrl, a.approvalId);
    return html`<li>step <a href="#step-${a.stepId}"><code>${a.stepId}</code></a>: ${a.reason} · asked ${ago(a.requestedAt, m.now)} ${href ? html`<a href="${href}" rel="noopener noreferrer" target="_blank">Decide in the inbox →</a>` : html`<code>${a.approvalId}</code>`}</li>`;
  })}</ul></section>` : ''}
<section><h2>Steps</h2><div class="dag-wrap">${dagSvg(r.stepList)}</div>
${r.stepList.map((s) => stepCard(s, { run: r, canOperate, ...(m.inboxUrl ? { inboxUrl: m.inboxUrl } : {}) }))}
</section>
<section class="io"><h2>Input</h2>${jsonBlock(r.input, `${base}/json/input`)}
${r.output !== undefined ? html`<h2>Output</h2>${jsonBlock(r.output, `${base}/json/output`)}` : ''}
${r.partial !== undefined ? html`<h2>Partial result</h2>${jsonBlock(r.partial, `${base}/json/partial`)}` : ''}</section>
${approvalsTable(r)}
<section><h2>Decision trail <span class="count">${r.decisions.length}</span></h2>
<table class="decisions"><thead><tr><th>#</th><th>At</th><th>On</th><th>Decided</th><th>Steps</th><th>Why</th></tr></thead><tbody>
${[...r.decisions].reverse().map((d) => html`<tr><td class="num">${d.seq}</td><td>${utc(d.at)}</td><td><code>${d.on}</code></td><td class="action">${d.action}</td><td>${d.stepIds.map((s, i) => html`${i > 0 ? ', ' : ''}<a href="#step-${s}"><code>${s}</code></a>`)}</td><td class="reason">${d.reason}</td></tr>`)}
</tbody></table></section>`;
}

function approvalsTable(r: RunDetail): Html {
  if (r.approvals.length === 0) return html``;
  return html`<section><h2>Approvals</h2><table class="approvals"><thead><tr><th>Step</th><th>Why asked</th><th>Asked</th><th>Status</th><th>By</th><th>Comment</th></tr></thead><tbody>
${r.approvals.map((a) => html`<tr><td><code>${a.stepId}</code></td><td>${a.reason}</td><td>${utc(a.requestedAt)}</td><td>${a.status}</td><td>${a.decidedBy ?? ''}</td><td>${a.comment ?? ''}</td></tr>`)}
</tbody></table></section>`;
}
