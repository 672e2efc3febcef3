import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { formField } from '@pipewright/kit';
import { ResumeBody, RerunBody } from '@pipewright/contracts';
import type { OpResult } from '../ports.js';
import { FORM_MAX_BYTES } from './auth-routes.js';
import type { Dashboard, DashEnv } from './context.js';
import { loadRun } from './page-routes.js';
import { confirmPage, type Operation } from './views/confirm.js';

const OP_PATTERN = ':op{cancel|resume|rerun|signal}';
/** The fields an operation's form may send (anything else is ignored). */
const FIELDS = ['reason', 'maxUsd', 'maxTokens', 'fromStep', 'name', 'payload'] as const;

/**
 * Cancel, resume, re-run and sending a signal: a confirmation page (GET, works without script) whose form POSTs the
 * operation with the session's CSRF token. Only `operate` sessions see the buttons or may post (403).
 */
export function actionRoutes(app: Hono<DashEnv>, d: Dashboard): void {
  app.get(`/runs/:runId/confirm/${OP_PATTERN}`, d.signedIn, async (c) => {
    const viewer = c.get('viewer');
    if (viewer.role !== 'operate') return d.refuse(c, 403, 'Not allowed', 'Your token may read runs but not change them.', viewer);
    const run = await loadRun(d, c.req.param('runId'));
    if (!run) return d.refuse(c, 404, 'No such run', `There is no run ${c.req.param('runId')}.`, viewer);
    const step = c.req.query('step');
    return d.page(c, confirmPage({ viewer, run, op: c.req.param('op') as Operation, ...(step ? { step } : {}) }));
  });

  app.post(`/runs/:runId/${OP_PATTERN}`, bodyLimit({ maxSize: FORM_MAX_BYTES, onError: (c) => d.refuse(c, 413, 'Too large', 'That form was too large.') }), async (c) => {
    const checked = await d.checkPost(c, 'operate');
    if (!checked.ok) return checked.response;
    const { viewer, form } = checked;
    const run = await loadRun(d, c.req.param('runId'));
    if (!run) return d.refuse(c, 404, 'No such run', `There is no run ${c.req.param('runId')}.`, viewer);
    const op = c.req.param('op') as Operation;
    const values = Object.fromEntries(FIELDS.map((f) => [f, formField(form, f).trim()]));
    const actor = { name: viewer.name };
    const reason = values['reason'] || undefined;
    const again = (status: 400 | 404 | 409 | 413 | 503, error: string) => d.page(c, confirmPage({ viewer, run, op, values, error }), status);

    if (op === 'cancel') return after(c, await d.ports.operator.cancel(run.runId, reason, actor), again, () => `/runs/${encodeURIComponent(run.runId)}?done=cancel`);
    if (op === 'resume') {
      const budget = readBudget(values);
      if (!budget.ok) return again(400, budget.error);
      const body = ResumeBody.safeParse({ ...(budget.value ? { budget: budget.value } : {}), ...(reason ? { reason } : {}) });
      if (!body.success) return again(400, body.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      return after(c, await d.ports.operator.resume(run.runId, body.data, actor), again, () => `/runs/${encodeURIComponent(run.runId)}?done=resume`);
    }
    if (op === 'signal') {
      const payload = readPayload(values['payload'] ?? '');
      if (!payload.ok) return again(400, payload.error);
      if (!values['name']) return again(400, 'Choose the signal to send.');
      return after(c, await d.ports.operator.signal(run.runId, values['name'], { payload: payload.value }, { actor }), again, () => `/runs/${encodeURIComponent(run.runId)}?done=signal`);
    }
    const body = RerunBody.safeParse({ fromStep: values['fromStep'], ...(reason ? { reason } : {}) });
    if (!body.success) return again(400, 'Choose the step to run again from.');
    return after(c, await d.ports.operator.rerun(run.runId, body.data, actor), again, (v) => `/runs/${encodeURIComponent(v.runId)}?done=rerun`);
  });
}

/** Success goes to the run's page (303, so a reload does not post again); a refusal shows the form again with why. */
function after<T>(c: Context, r: OpResult<T>, again: (status: 400 | 404 | 409 | 413 | 503, error: string) => Response, to: (value: T) => string): Response {
  if (!r.ok) return again(r.status, r.error.message);
  return c.redirect(to(r.value), 303);
}

/** The resume form's optional new limits. */
function readBudget(values: Record<string, string>): { ok: true; value?: { maxUsd?: number; maxTokens?: number } } | { ok: false; error: string } {
  const out: { maxUsd?: number; maxTokens?: number } = {};
  const usd = values['maxUsd'] ?? '';
  const tokens = values['maxTokens'] ?? '';
  if (usd !== '') {
    const n = Number(usd.replace(/^\$/, ''));
    if (!Number.isFinite(n) || n <= 0) return { ok: false, error: `Most it may cost: "${usd}" is not an amount above 0.` };
    out.maxUsd = n;
  }
  if (tokens !== '') {
    const n = Number(tokens.replaceAll(',', ''));
    if (!Number.isInteger(n) || n <= 0) return { ok: false, error: `Most tokens: "${tokens}" is not a whole number above 0.` };
    out.maxTokens = n;
  }
  return { ok: true, ...(Object.keys(out).length > 0 ? { value: out } : {}) };
}

/** The signal form's payload: JSON, or null when empty. */
function readPayload(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  if (text === '') return { ok: true, value: null };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, error: 'Payload: that is not JSON (leave it empty to send null).' };
  }
}
