import type { ValidationIssue } from '@pipewright/contracts';
import type { ApprovalRecord } from '../store/types.js';
import { html, safeHref, type Html } from '@pipewright/kit';

/** A failed edit, shown again in its card with the text the person typed and what is wrong with it. */
export interface EditErrors {
  approvalId: string;
  text: string;
  issues: readonly ValidationIssue[];
}

export interface InboxModel {
  user: string;
  csrf: string;
  pending: readonly ApprovalRecord[];
  recent: readonly ApprovalRecord[];
  now: Date;
  notice?: string;
  editErrors?: EditErrors;
  traceUrl: (traceId: string) => string | undefined;
}

export function layout(title: string, body: Html, header?: Html): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="stylesheet" href="/inbox/style.css">
</head>
<body>
<header class="top"><span class="brand">Pipewright <span class="sep">·</span> Approvals</span>${header ?? ''}</header>
<main>${body}</main>
</body>
</html>`;
}

export function loginPage(nonce: string, error?: string): Html {
  return layout(
    'Sign in · Pipewright approvals',
    html`<section class="login">
<h1>Sign in</h1>
<p>Paste your approver API token. It is checked once; the browser then keeps a session cookie, not the token.</p>
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<form method="post" action="/inbox/login">
<input type="hidden" name="_csrf" value="${nonce}">
<label for="token">API token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required>
<button type="submit" class="primary">Sign in</button>
</form>
</section>`,
  );
}

export function inboxPage(m: InboxModel): Html {
  const header = html`<form method="post" action="/inbox/logout" class="who"><span>Signed in as <strong>${m.user}</strong></span><input type="hidden" name="_csrf" value="${m.csrf}"><button type="submit" class="link">Sign out</button></form>`;
  const body = html`${m.notice ? html`<p class="notice" role="status">${m.notice}</p>` : ''}
<h1>Waiting for a decision <span class="count">${m.pending.length}</span></h1>
${m.pending.length === 0 ? html`<p class="empty">Nothing is waiting. New requests appear here when you reload.</p>` : m.pending.map((r) => card(r, m))}
<h2 class="recent-title">Recently decided</h2>
${m.recent.length === 0 ? html`<p class="empty">No decisions yet.</p>` : recentTable(m.recent)}`;
  return layout(`Approvals (${m.pending.length}) · Pipewright`, body, header);
}

function card(r: ApprovalRecord, m: InboxModel): Html {
  const q = r.request;
  const id = encodeURIComponent(r.approvalId);
  const errors = m.editErrors?.approvalId === r.approvalId ? m.editErrors : undefined;
  const args = q.action.arguments === undefined ? undefined : JSON.stringify(q.action.arguments, null, 2);
  const traceHref = q.traceId ? safeHref(m.traceUrl(q.traceId)) : undefined;
  const csrf = html`<input type="hidden" name="_csrf" value="${m.csrf}">`;
  return html`<article class="card" id="${r.approvalId}">
<header>
<h2>${title(r)}${r.escalation ? html` <span class="badge warn">escalated to ${r.escalation.to}</span>` : ''}</h2>
<p class="meta">run <code>${q.runId}</code>${q.pipeline ? html` (${q.pipeline})` : ''} · step <code>${q.stepId}</code> · requested ${when(q.requestedAt)}${r.deadlineAt ? html` · <span class="deadline">${onTimeoutLabel(r)} ${relative(r.deadlineAt, m.now)}</span>` : ''}</p>
</header>
<dl class="facts">
<dt>Why it needs you</dt><dd>${q.reason}</dd>
${budgetFacts(r)}
${q.confidence !== undefined ? html`<dt>Model confidence</dt><dd><meter min="0" max="1" low="0.5" high="0.8" optimum="1" value="${q.confidence}"></meter> ${Math.round(q.confidence * 100)}%</dd>` : ''}
${q.costSoFarUsd !== undefined && q.action.kind !== 'budget' ? html`<dt>Cost so far</dt><dd>$${q.costSoFarUsd.toFixed(4)}</dd>` : ''}
${q.estimatedCostUsd !== undefined ? html`<dt>Estimated cost</dt><dd>$${q.estimatedCostUsd.toFixed(4)}</dd>` : ''}
${q.traceId ? html`<dt>Trace</dt><dd>${traceHref ? html`<a href="${traceHref}" rel="noopener noreferrer" target="_blank"><code>${q.traceId}</code></a>` : html`<code>${q.traceId}</code>`}</dd>` : ''}
<dt>Approval</dt><dd><code>${r.approvalId}</code></dd>
</dl>
${q.reasoning ? html`<section class="reasoning"><h3>The model's reasoning</h3><p>${q.reasoning}</p></section>` : ''}
${args !== undefined ? html`<section><h3>${ARGS_HEADING[q.action.kind]}</h3><pre class="args">${args}</pre></section>` : ''}
<div class="actions">
<form method="post" action="/inbox/approvals/${id}/approve">${csrf}<button type="submit" class="primary">Approve</button></form>
<form method="post" action="/inbox/approvals/${id}/reject" class="reject">${csrf}<input name="reason" required maxlength="2000" placeholder="Reason for rejecting" aria-label="Reason for rejecting"><button type="submit" class="danger">Reject</button></form>
</div>
${q.action.kind !== 'step' ? html`<details class="edit"${errors ? html` open` : ''}>
<summary>${q.action.kind === 'budget' ? 'Edit the new limits and approve' : 'Edit the arguments and approve'}</summary>
<form method="post" action="/inbox/approvals/${id}/edit">${csrf}
<label for="args-${r.approvalId}">${q.action.kind === 'budget' ? 'New run limits (JSON, each above the limit now)' : html`Arguments (JSON${q.argumentsSchema ? ', checked against the tool\u2019s schema' : ''})`}</label>
<textarea id="args-${r.approvalId}" name="arguments" rows="${Math.min(16, Math.max(4, (errors?.text ?? args ?? '').split('\n').length + 1))}" spellcheck="false">${errors?.text ?? args ?? ''}</textarea>
${errors ? html`<ul class="error" role="alert">${errors.issues.map((i) => html`<li><code>${i.path}</code> ${i.message}</li>`)}</ul>` : ''}
<button type="submit" class="primary">${q.action.kind === 'budget' ? 'Approve with these limits' : 'Approve with these arguments'}</button>
</form>
</details>` : ''}
</article>`;
}

function recentTable(rows: readonly ApprovalRecord[]): Html {
  return html`<table class="recent">
<thead><tr><th>Decided</th><th>Run / step</th><th>Action</th><th>Decision</th><th>By</th><th>Reason</th></tr></thead>
<tbody>${rows.map((r) => {
    const d = r.decision;
    const q = r.request;
    return html`<tr><td>${d ? when(d.at) : ''}</td><td><code>${q.runId}</code> / <code>${q.stepId}</code></td><td>${q.action.kind === 'tool' ? q.action.tool ?? '?' : q.action.kind}</td><td><span class="verdict ${d?.decision ?? ''}">${d?.decision ?? ''}</span></td><td>${d ? `${d.by} (${d.via})` : ''}</td><td>${d?.reason ?? ''}</td></tr>`;
  })}</tbody>
</table>`;
}

const ARGS_HEADING = { tool: 'Proposed arguments', step: 'Output waiting for approval', budget: 'Proposed run limits' } as const;

function title(r: ApprovalRecord): Html {
  const q = r.request;
  if (q.action.kind === 'tool') return html`Tool <code>${q.action.tool ?? '?'}</code>`;
  if (q.action.kind === 'budget') return html`More budget for step <code>${q.stepId}</code>`;
  return html`Step <code>${q.stepId}</code>`;
}

/** A budget request: the limit in force, what was spent, and what is proposed. */
function budgetFacts(r: ApprovalRecord): Html | '' {
  const b = r.request.budget;
  if (r.request.action.kind !== 'budget' || !b) return '';
  const proposed = (r.request.action.arguments ?? {}) as { maxUsd?: unknown; maxTokens?: unknown };
  return html`<dt>Run limit now</dt><dd>${limits(b.current)} (reached: <code>${b.exceeded}</code>)</dd>
<dt>Spent so far</dt><dd>${usd(b.spentUsd)} · ${b.spentTokens.toLocaleString('en-US')} tokens</dd>
<dt>Proposed limit</dt><dd>${limits({ ...b.current, ...proposed })}</dd>`;
}

function limits(l: { maxUsd?: unknown; maxTokens?: unknown }): string {
  const parts = [...(typeof l.maxUsd === 'number' ? [usd(l.maxUsd)] : []), ...(typeof l.maxTokens === 'number' ? [`${l.maxTokens.toLocaleString('en-US')} tokens`] : [])];
  return parts.join(' and ') || 'none';
}

const usd = (x: number) => `$${Number(x.toFixed(6))}`;

/** `2026-05-01 12:00:03 UTC`: unambiguous for people in any time zone. */
function when(iso: string): string {
  const t = new Date(iso);
  return Number.isNaN(t.getTime()) ? iso : `${t.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** What the deadline does, in the words of the policy. */
function onTimeoutLabel(r: ApprovalRecord): string {
  const q = r.request;
  if (r.escalation || q.onTimeout === 'reject') return 'rejected automatically';
  if (q.onTimeout === 'approve') return 'approved automatically';
  return `escalated to ${q.escalation?.to ?? '?'}`;
}

function relative(iso: string, now: Date): string {
  const ms = Date.parse(iso) - now.getTime();
  const abs = Math.abs(ms);
  const span = abs < 90_000 ? `${Math.round(abs / 1000)} s` : abs < 5_400_000 ? `${Math.round(abs / 60_000)} min` : `${Math.round(abs / 3_600_000)} h`;
  return ms >= 0 ? `in ${span}` : `${span} ago`;
}
