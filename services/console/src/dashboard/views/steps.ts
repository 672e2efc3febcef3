import { html, safeHref, type Html } from '@pipewright/kit';
import type { Decision, RunDetail, StepView } from '@pipewright/contracts';
import { bytes, count, prettyJson, span, statusBadge, usd, utc } from './format.js';

/** Characters of an output shown in the page; the rest is one click away. */
export const OUTPUT_PREVIEW_CHARS = 4_000;

/** The planner's agent decisions name their turn first (`turn 3: lookup-order {...}`). */
const TURN_PREFIX = /^turn (\d+): /;

export interface AgentTurn {
  turn: number;
  decisions: Decision[];
}

/** An agent step's loop, turn by turn, from the decision trail. */
export function agentTurns(stepId: string, decisions: readonly Decision[]): AgentTurn[] {
  const turns = new Map<number, Decision[]>();
  for (const d of decisions) {
    if (!d.stepIds.includes(stepId)) continue;
    const m = TURN_PREFIX.exec(d.reason);
    if (!m) continue;
    const turn = Number(m[1]);
    turns.set(turn, [...(turns.get(turn) ?? []), d]);
  }
  return [...turns.entries()].sort(([a], [b]) => a - b).map(([turn, ds]) => ({ turn, decisions: ds }));
}

/** A JSON value, pretty and escaped, cut at OUTPUT_PREVIEW_CHARS with a link to all of it. */
export function jsonBlock(value: unknown, fullHref: string): Html {
  const text = prettyJson(value);
  if (text === undefined) return html`<p class="empty">none</p>`;
  if (text.length <= OUTPUT_PREVIEW_CHARS) return html`<pre class="json">${text}</pre>`;
  return html`<pre class="json">${text.slice(0, OUTPUT_PREVIEW_CHARS)}\n…</pre><p class="more"><a href="${fullHref}">Show all (${bytes(Buffer.byteLength(text))})</a></p>`;
}

export interface StepContext {
  run: RunDetail;
  canOperate: boolean;
  inboxUrl?: string;
}

export function stepCard(s: StepView, cx: StepContext): Html {
  const base = `/runs/${encodeURIComponent(cx.run.runId)}`;
  const u = s.usage;
  const terminal = cx.run.finishedAt !== undefined;
  return html`<section class="step st-${s.status}" id="step-${s.id}">
<header><h3><code>${s.id}</code> <span class="kind">${s.kind}</span> ${statusBadge(s.status)}${s.reused ? html` <span class="chip">reused from ${cx.run.rerunOf?.runId ?? 'the source run'}</span>` : ''}</h3>
${cx.canOperate && terminal ? html`<a class="button" href="${base}/confirm/rerun?step=${encodeURIComponent(s.id)}">Re-run from here…</a>` : ''}</header>
<dl class="facts">
<dt>Attempts</dt><dd>${s.attempt}</dd>
${s.items ? html`<dt>Items</dt><dd>${count(s.items.succeeded)} of ${count(s.items.total)} succeeded · ${count(s.items.running)} running${s.items.failed > 0 ? html` · ${count(s.items.failed)} failed` : ''}</dd>` : ''}
${s.skipReason !== undefined ? html`<dt>Skipped</dt><dd>${s.skipReason}</dd>` : ''}
${s.model ? html`<dt>Model</dt><dd><code>${s.model.provider}/${s.model.model}</code></dd>` : ''}
${s.turn !== undefined ? html`<dt>Turn</dt><dd>${s.turn}</dd>` : ''}
${s.calls !== undefined ? html`<dt>Calls</dt><dd>${s.calls}</dd>` : ''}
${u ? html`<dt>Tokens</dt><dd>${count(u.inputTokens)} in · ${count(u.outputTokens)} out${u.cachedInputTokens ? html` · ${count(u.cachedInputTokens)} cached` : ''}</dd>` : ''}
${s.costUsd !== undefined ? html`<dt>Cost</dt><dd>${usd(s.costUsd)}</dd>` : ''}
${s.latencyMs !== undefined ? html`<dt>Latency</dt><dd>${span(s.latencyMs)}</dd>` : ''}
${s.dispatchedAt ? html`<dt>Dispatched</dt><dd>${utc(s.dispatchedAt)}</dd>` : ''}
${s.finishedAt ? html`<dt>Finished</dt><dd>${utc(s.finishedAt)}</dd>` : ''}
${s.needs.length > 0 ? html`<dt>Needs</dt><dd>${s.needs.map((n, i) => html`${i > 0 ? ', ' : ''}<a href="#step-${n}"><code>${n}</code></a>`)}</dd>` : ''}
</dl>
${s.error ? html`<p class="error step-error"><code>${s.error.code}</code> ${s.error.message}${s.error.retryable ? html` <span class="hint">(retryable)</span>` : ''}</p>` : ''}
${s.approval ? pendingApproval(s.approval, cx.inboxUrl) : ''}
${s.kind === 'agent' ? agentLoop(agentTurns(s.id, cx.run.decisions)) : ''}
${s.output !== undefined ? html`<details class="output" id="out-${s.id}"><summary>Output <span class="hint">${bytes(Buffer.byteLength(prettyJson(s.output) ?? ''))}</span></summary>${jsonBlock(s.output, `${base}/json/steps/${encodeURIComponent(s.id)}`)}</details>` : ''}
</section>`;
}

function pendingApproval(a: NonNullable<StepView['approval']>, inboxUrl: string | undefined): Html {
  const href = inboxHref(inboxUrl, a.approvalId);
  return html`<p class="approval">Waiting for a person (${a.kind}): ${a.reason}. ${href ? html`<a href="${href}" rel="noopener noreferrer" target="_blank">Decide in the inbox →</a>` : html`Approval <code>${a.approvalId}</code>.`}</p>`;
}

/** The inbox's card of an approval (its element id is the approval id). */
export function inboxHref(inboxUrl: string | undefined, approvalId: string): string | undefined {
  const base = safeHref(inboxUrl);
  return base ? `${base.split('#')[0]}#${encodeURIComponent(approvalId)}` : undefined;
}

function agentLoop(turns: readonly AgentTurn[]): Html {
  if (turns.length === 0) return html``;
  return html`<ol class="turns">${turns.map((t) => html`<li><span class="turn">turn ${t.turn}</span><ul>${t.decisions.map((d) => html`<li><span class="action">${d.action}</span> ${d.reason.replace(TURN_PREFIX, '')}</li>`)}</ul></li>`)}</ol>`;
}
