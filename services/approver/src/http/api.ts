import type { ApprovalChannel } from '@pipewright/contracts';
import { fromZodError, MAX_VALUE_DEPTH, parseJsonBounded } from '@pipewright/contracts';
import { bearerToken } from '@pipewright/kit';
import { Hono, type Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { z } from 'zod';
import type { DecideResult } from '../approvals/service.js';
import type { DecisionInput } from '../core/decide.js';
import { ApprovalStatus, type ApprovalRecord } from '../store/types.js';
import type { HttpDeps } from './deps.js';

type Env = { Variables: { user: string } };

/** Header the CLI sends so that the audit trail says `cli` rather than `api`. */
export const CLIENT_HEADER = 'x-pipewright-client';

const Comment = z.string().max(2_000).optional();
const Bodies = {
  approve: z.object({ comment: Comment }).strict(),
  reject: z.object({ reason: z.string().trim().min(1, 'a rejection needs a reason').max(2_000) }).strict(),
  edit: z.object({ arguments: z.unknown().refine((v) => v !== undefined, 'is required'), comment: Comment }).strict(),
} as const;
const ListQuery = z.object({ status: z.union([ApprovalStatus, z.literal('all')]).default('pending'), limit: z.coerce.number().int().min(1).max(1_000).default(100) });

/**
 * The HTTP API under /api: bearer-token authentication on every route, checked before anything is
 * read or changed. Decisions answer 200 (decided, or the same decision repeated), 409 (decided
 * differently before), 404, or 422 with field-named issues.
 */
export function apiRoutes(d: HttpDeps): Hono<Env> {
  const app = new Hono<Env>();
  app.use(
    '*',
    createMiddleware<Env>(async (c, next) => {
      const token = bearerToken(c.req.header('authorization'));
      const user = token !== undefined ? d.tokens.verify(token)?.name : undefined;
      if (user === undefined) return c.json({ error: 'unauthorized', message: 'a valid bearer token is required' }, 401, { 'www-authenticate': 'Bearer realm="pipewright-approver"' });
      c.set('user', user);
      await next();
    }),
  );

  app.get('/approvals', async (c) => {
    const q = ListQuery.safeParse({ status: c.req.query('status') || undefined, limit: c.req.query('limit') || undefined });
    if (!q.success) return c.json({ error: 'invalid_query', issues: fromZodError(q.error) }, 400);
    const records = await d.approvals.list({ ...(q.data.status !== 'all' ? { status: q.data.status } : {}), limit: q.data.limit });
    return c.json({ approvals: records.map(view) });
  });

  app.get('/approvals/:id', async (c) => {
    const found = await d.approvals.get(c.req.param('id'));
    if (!found) return c.json({ error: 'not_found' }, 404);
    return c.json({ approval: view(found.record), audit: found.audit });
  });

  app.post('/approvals/:id/:verb{approve|reject|edit}', async (c) => {
    const verb = c.req.param('verb') as keyof typeof Bodies;
    // Depth is checked on the text, before anything walks the value; edited arguments travel on in a decision (MAX_VALUE_DEPTH).
    const raw = parseJsonBounded(await c.req.text(), MAX_VALUE_DEPTH);
    if (!raw.ok) return c.json({ error: 'invalid_body', issues: [{ path: '(root)', message: raw.kind === 'not-json' ? 'the body must be a JSON object' : raw.reason }] }, 400);
    const body = Bodies[verb].safeParse(raw.value);
    if (!body.success) return c.json({ error: 'invalid_body', issues: fromZodError(body.error) }, 422);
    const input = toInput(verb, body.data);
    const channel: ApprovalChannel = c.req.header(CLIENT_HEADER) === 'cli' ? 'cli' : 'api';
    return answer(c, await d.approvals.decide(c.req.param('id'), input, { name: c.get('user'), channel }));
  });

  return app;
}

function toInput(verb: keyof typeof Bodies, b: { comment?: string | undefined; reason?: string; arguments?: unknown }): DecisionInput {
  const comment = b.comment !== undefined ? { comment: b.comment } : {};
  if (verb === 'reject') return { kind: 'reject', reason: b.reason ?? '' };
  if (verb === 'edit') return { kind: 'edit', arguments: b.arguments, ...comment };
  return { kind: 'approve', ...comment };
}

function answer(c: Context<Env>, r: DecideResult): Response {
  switch (r.kind) {
    case 'decided':
    case 'unchanged':
      return c.json({ result: r.kind, approval: view(r.record) }, 200);
    case 'conflict':
      return c.json({ error: 'already_decided', message: 'the approval was decided differently before; that decision stands', approval: view(r.record) }, 409);
    case 'not_found':
      return c.json({ error: 'not_found' }, 404);
    case 'invalid':
      return c.json({ error: 'invalid', issues: r.issues }, 422);
  }
}

/** What clients see of a record (the bookkeeping flags stay inside). */
export function view(r: ApprovalRecord): Record<string, unknown> {
  return {
    approvalId: r.approvalId,
    status: r.status,
    request: r.request,
    receivedAt: r.receivedAt,
    ...(r.deadlineAt ? { deadlineAt: r.deadlineAt } : {}),
    ...(r.escalation ? { escalation: r.escalation } : {}),
    ...(r.decision ? { decision: r.decision } : {}),
  };
}
