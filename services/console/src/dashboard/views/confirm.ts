import { html, type Html } from '@pipewright/kit';
import type { RunDetail } from '@pipewright/contracts';
import type { Viewer } from '../context.js';
import { statusBadge, usd } from './format.js';
import { layout } from './layout.js';

export type Operation = 'cancel' | 'resume' | 'rerun' | 'signal';
export const OPERATIONS: readonly Operation[] = ['cancel', 'resume', 'rerun', 'signal'];

const TITLES: Record<Operation, string> = { cancel: 'Cancel this run?', resume: 'Resume this run?', rerun: 'Re-run this run from a step?', signal: 'Send this run a signal?' };
const BUTTONS: Record<Operation, string> = { cancel: 'Yes, cancel the run', resume: 'Yes, resume the run', rerun: 'Yes, start the re-run', signal: 'Yes, send the signal' };

export interface ConfirmModel {
  viewer: Viewer;
  run: RunDetail;
  op: Operation;
  /** Re-run: the step chosen beforehand. */
  step?: string;
  /** The form as sent, when it is shown again with an error. */
  values?: Readonly<Record<string, string>>;
  error?: string;
}

/** The confirmation step of an operation: a page with the form that does it (no script needed). */
export function confirmPage(m: ConfirmModel): Html {
  const r = m.run;
  const runHref = `/runs/${encodeURIComponent(r.runId)}`;
  const v = (name: string) => m.values?.[name] ?? '';
  const body = html`<section class="confirm">
<p class="crumbs"><a href="/runs">Runs</a> / <a href="${runHref}"><code>${r.runId}</code></a> / ${m.op}</p>
<h1>${TITLES[m.op]}</h1>
<p>Run <code>${r.runId}</code> of <strong>${r.pipeline}</strong> is ${statusBadge(r.status)}${r.reason ? html`: <span class="reason">${r.reason}</span>` : ''}</p>
${m.error ? html`<p class="error" role="alert">${m.error}</p>` : ''}
<form method="post" action="${runHref}/${m.op}">
<input type="hidden" name="_csrf" value="${m.viewer.csrf}">
${explain(m)}
<label for="reason">Reason <span class="hint">(kept in the decision trail)</span></label>
<input id="reason" name="reason" maxlength="1000" value="${v('reason')}" placeholder="optional">
<div class="actions"><button type="submit" class="${m.op === 'cancel' ? 'danger' : 'primary'}">${BUTTONS[m.op]}</button><a href="${runHref}">No, go back</a></div>
</form>
</section>`;
  return layout(TITLES[m.op], body, m.viewer);
}

function explain(m: ConfirmModel): Html {
  const r = m.run;
  const v = (name: string) => m.values?.[name] ?? '';
  if (m.op === 'cancel') return html`<p>Steps still running are stopped and nothing new is dispatched. Outputs so far are kept as the partial result.</p>`;
  if (m.op === 'resume') {
    const again = r.stepList.filter((s) => s.status !== 'succeeded').map((s) => s.id);
    return html`<p>The run goes on from where it stopped: the ${r.steps.succeeded} step(s) that succeeded keep their outputs; ${again.length > 0 ? html`these run again: ${again.map((id, i) => html`${i > 0 ? ', ' : ''}<code>${id}</code>`)}` : 'no step needs to run again'}.</p>
<fieldset><legend>New limits <span class="hint">(optional; empty keeps the current one)</span></legend>
<label for="maxUsd">Most it may cost, in USD ${r.budget?.maxUsd !== undefined ? html`<span class="hint">now ${usd(r.budget.maxUsd)}, spent ${usd(r.costUsd)}</span>` : ''}</label>
<input id="maxUsd" name="maxUsd" inputmode="decimal" value="${v('maxUsd')}" maxlength="20">
<label for="maxTokens">Most tokens ${r.budget?.maxTokens !== undefined ? html`<span class="hint">now ${r.budget.maxTokens}, used ${r.usage.totalTokens}</span>` : ''}</label>
<input id="maxTokens" name="maxTokens" inputmode="numeric" value="${v('maxTokens')}" maxlength="20">
</fieldset>`;
  }
  if (m.op === 'signal') return signalFields(m);
  const chosen = m.values?.['fromStep'] ?? m.step ?? r.stepList.find((s) => s.status !== 'succeeded')?.id ?? r.stepList[0]?.id;
  return html`<p>A new run of the same pipeline and input starts. The step you choose and every step after it run again; the steps before it reuse this run's outputs.</p>
<fieldset><legend>Run again from</legend>
${r.stepList.map((s) => html`<label class="radio"><input type="radio" name="fromStep" value="${s.id}"${s.id === chosen ? html` checked` : ''} required> <code>${s.id}</code> ${statusBadge(s.status)}</label>`)}
</fieldset>`;
}

/** The signal form: which of the signals the run waits for, and its payload (JSON). */
function signalFields(m: ConfirmModel): Html {
  const waiting = m.run.stepList.flatMap((s) => (s.signal ? [{ step: s.id, name: s.signal.name, until: s.signal.until }] : []));
  const chosen = m.values?.['name'] ?? waiting[0]?.name;
  return html`<p>A step waiting for the signal takes it, and its payload becomes the step's output (checked against the step's output schema; a payload it refuses leaves the step waiting, and the decision trail says why).</p>
<fieldset><legend>Signal</legend>
${waiting.length > 0 ? waiting.map((w) => html`<label class="radio"><input type="radio" name="name" value="${w.name}"${w.name === chosen ? html` checked` : ''} required> <code>${w.name}</code> <span class="hint">step ${w.step}${w.until ? `, waits until ${w.until}` : ''}</span></label>`) : html`<p class="hint">No step waits for a signal now.</p>`}
</fieldset>
<label for="payload">Payload <span class="hint">(JSON; empty sends null)</span></label>
<textarea id="payload" name="payload" rows="6" maxlength="15000" placeholder='{"approved": true}'>${m.values?.['payload'] ?? ''}</textarea>`;
}
