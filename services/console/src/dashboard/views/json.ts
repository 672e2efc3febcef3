import { html, type Html } from '@pipewright/kit';
import type { Viewer } from '../context.js';
import { prettyJson } from './format.js';
import { layout } from './layout.js';

/** All of a value that the run page showed cut short. */
export function jsonPage(v: Viewer, runId: string, what: string, value: unknown): Html {
  const body = html`<p class="crumbs"><a href="/runs">Runs</a> / <a href="/runs/${encodeURIComponent(runId)}"><code>${runId}</code></a> / ${what}</p>
<h1>${what}</h1>
<pre class="json full">${prettyJson(value) ?? 'none'}</pre>`;
  return layout(`${what} · ${runId}`, body, v);
}
