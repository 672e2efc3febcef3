import { CancelBody, CancelByLabelBody, Labels, RerunBody, ResumeBody, RunListQuery, SignalBody } from '@pipewright/contracts';
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { parseLabel } from '../model/query.js';
import type { ConsolePorts, OpResult } from '../ports.js';
import { requireRole, type ApiEnv } from './auth.js';
import { apiError, badRequest } from './errors.js';
import { readBody, readQuery, runIdParam } from './input.js';

/** Header a caller sends to make a submit safe to retry. */
export const IDEMPOTENCY_HEADER = 'idempotency-key';

const BatchQuery = z.strictObject({ label: z.union([z.string(), z.array(z.string())]) });

/** Answers an operation's outcome: its status and body, or its ApiError. */
export function answer<T>(c: Context, r: OpResult<T>): Response {
  return r.ok ? c.json(r.value as object, r.status) : apiError(c, r.status, r.error.code, r.error.message, { ...(r.error.issues ? { issues: r.error.issues } : {}), ...(r.error.differences ? { differences: r.error.differences } : {}) });
}

/** The runs API under /api/v1: the routes of docs/api.md. */
export function runsRoutes(p: ConsolePorts): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const read = requireRole(p.auth, 'read');
  const operate = requireRole(p.auth, 'operate');

  app.post('/runs', operate, async (c) => {
    const body = await readBody(c, z.record(z.string(), z.unknown()));
    if (!body.ok) return badRequest(c, body.message, body.issues);
    const key = c.req.header(IDEMPOTENCY_HEADER);
    return answer(c, await p.operator.submit(body.value as never, { ...(key !== undefined ? { idempotencyKey: key } : {}), actor: c.get('actor') }));
  });

  app.get('/runs', read, (c) => {
    const q = readQuery(c, RunListQuery);
    if (!q.ok) return badRequest(c, q.message, q.issues);
    return answer(c, p.model.list(q.value));
  });

  app.post('/runs/cancel', operate, async (c) => {
    const body = await readBody(c, CancelByLabelBody);
    if (!body.ok) return badRequest(c, body.message, body.issues);
    return answer(c, await p.operator.cancelByLabels(body.value.labels, body.value.reason, c.get('actor')));
  });

  app.get('/runs/:runId', read, async (c) => {
    const id = runIdParam(c);
    if (!id.ok) return badRequest(c, id.message, id.issues);
    const detail = await p.reader.get(id.value);
    if (!detail) return apiError(c, 404, 'not_found', `no run ${id.value}`);
    return c.json(detail, 200);
  });

  app.post('/runs/:runId/cancel', operate, async (c) => {
    const id = runIdParam(c);
    if (!id.ok) return badRequest(c, id.message, id.issues);
    const body = await readBody(c, CancelBody, { emptyAs: {} });
    if (!body.ok) return badRequest(c, body.message, body.issues);
    return answer(c, await p.operator.cancel(id.value, body.value.reason, c.get('actor')));
  });

  app.post('/runs/:runId/resume', operate, async (c) => {
    const id = runIdParam(c);
    if (!id.ok) return badRequest(c, id.message, id.issues);
    const body = await readBody(c, ResumeBody, { emptyAs: {} });
    if (!body.ok) return badRequest(c, body.message, body.issues);
    return answer(c, await p.operator.resume(id.value, body.value, c.get('actor')));
  });

  app.post('/runs/:runId/rerun', operate, async (c) => {
    const id = runIdParam(c);
    if (!id.ok) return badRequest(c, id.message, id.issues);
    const body = await readBody(c, RerunBody);
    if (!body.ok) return badRequest(c, body.message, body.issues);
    return answer(c, await p.operator.rerun(id.value, body.value, c.get('actor')));
  });

  app.post('/runs/:runId/signals/:name', operate, async (c) => {
    const id = runIdParam(c);
    if (!id.ok) return badRequest(c, id.message, id.issues);
    const body = await readBody(c, SignalBody, { emptyAs: {} });
    if (!body.ok) return badRequest(c, body.message, body.issues);
    const key = c.req.header(IDEMPOTENCY_HEADER);
    return answer(c, await p.operator.signal(id.value, c.req.param('name'), body.value, { ...(key !== undefined ? { idempotencyKey: key } : {}), actor: c.get('actor') }));
  });

  app.get('/batches', read, (c) => {
    const q = readQuery(c, BatchQuery);
    if (!q.ok) return badRequest(c, q.message, q.issues);
    const labels: Labels = {};
    for (const l of Array.isArray(q.value.label) ? q.value.label : [q.value.label]) {
      const kv = parseLabel(l);
      if (!kv) return badRequest(c, 'invalid query', [{ path: 'label', message: 'a label filter is key=value' }]);
      labels[kv[0]] = kv[1];
    }
    const checked = Labels.safeParse(labels);
    if (!checked.success) return badRequest(c, 'invalid query', [{ path: 'label', message: 'label key up to 64 characters, value up to 256' }]);
    return c.json(p.model.batch(checked.data), 200);
  });

  return app;
}
