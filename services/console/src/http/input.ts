import { fromZodError, MAX_JSON_DEPTH, parseJsonBounded, RunListQuery, RunId, type ValidationIssue } from '@pipewright/contracts';
import type { Context } from 'hono';
import type { z } from 'zod';

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string; issues: ValidationIssue[] };

/**
 * A JSON body checked at the boundary: depth on the text before it is parsed (MAX_JSON_DEPTH), then the
 * schema. An empty body counts as `{}` where the schema allows it (cancel, resume).
 */
export async function readBody<S extends z.ZodType>(c: Context, schema: S, opts: { emptyAs?: unknown } = {}): Promise<Parsed<z.infer<S>>> {
  const text = await c.req.text();
  let value: unknown = opts.emptyAs;
  if (text.trim() !== '' || opts.emptyAs === undefined) {
    const json = parseJsonBounded(text, MAX_JSON_DEPTH);
    if (!json.ok) return { ok: false, message: 'the body is not acceptable JSON', issues: [{ path: '(body)', message: json.reason }] };
    value = json.value;
  }
  const parsed = schema.safeParse(value);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, message: 'the body is invalid', issues: fromZodError(parsed.error) };
}

/** A path's run id, checked like every run id (it is used in subjects). */
export function runIdParam(c: Context, name = 'runId'): Parsed<string> {
  const v = c.req.param(name) ?? '';
  const parsed = RunId.safeParse(v);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, message: `invalid ${name}`, issues: [{ path: name, message: parsed.error.issues[0]?.message ?? 'invalid' }] };
}

/** Parameters that may repeat (`label=a=1&label=b=2`); every other one may appear once. */
const REPEATABLE = new Set(['label']);

/**
 * The query string checked strictly: an unknown parameter, a repeated one or a bad value is a 400
 * naming it (`limit=abc` → `limit`), never ignored.
 */
export function readQuery<S extends z.ZodObject>(c: Context, schema: S, allowed: readonly string[] = Object.keys(schema.shape)): Parsed<z.infer<S>> {
  const issues: ValidationIssue[] = [];
  const raw: Record<string, string | string[]> = {};
  for (const [k, vs] of Object.entries(c.req.queries())) {
    if (!allowed.includes(k)) issues.push({ path: k, message: 'unknown parameter' });
    else if (REPEATABLE.has(k)) raw[k] = vs;
    else if (vs.length > 1) issues.push({ path: k, message: 'given more than once' });
    else raw[k] = vs[0]!;
  }
  if (issues.length > 0) return { ok: false, message: 'invalid query', issues };
  const parsed = schema.safeParse(raw);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, message: 'invalid query', issues: fromZodError(parsed.error) };
}

/** The filters of `GET /events` (the list's, without paging). */
export const StreamQuery = RunListQuery.pick({ status: true, pipeline: true, label: true, tenant: true });
