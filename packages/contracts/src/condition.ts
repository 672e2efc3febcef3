import { z } from 'zod';
import { canonicalJson } from './request-digest.js';
import { lookup } from './template.js';

/**
 * A path into what a run knows: the run input (`input.customer.tier`) or an earlier step's output
 * (`steps.triage.output.priority`). The same paths templates use, without the braces.
 */
export const ValuePath = z
  .string()
  .max(1_000)
  .regex(/^(input|steps\.[A-Za-z][A-Za-z0-9_-]{0,63}\.output)(\.[A-Za-z0-9_-]+)*$/, 'a path is input.… or steps.<id>.output…');
export type ValuePath = z.infer<typeof ValuePath>;

const OPERATORS = ['equals', 'notEquals', 'in', 'notIn', 'exists', 'gt', 'gte', 'lt', 'lte'] as const;

/** One comparison of the value at `path`: exactly one operator. */
export const Comparison = z
  .strictObject({
    path: ValuePath,
    equals: z.unknown().optional(),
    notEquals: z.unknown().optional(),
    in: z.array(z.unknown()).min(1).max(100).optional(),
    notIn: z.array(z.unknown()).min(1).max(100).optional(),
    /** true: the path has a value (not missing, not null); false: it has none. */
    exists: z.boolean().optional(),
    gt: z.number().optional(),
    gte: z.number().optional(),
    lt: z.number().optional(),
    lte: z.number().optional(),
  })
  .refine((c) => OPERATORS.filter((op) => c[op] !== undefined).length === 1, {
    message: `a comparison has exactly one of ${OPERATORS.join(', ')}`,
  });
export type Comparison = z.infer<typeof Comparison>;

/**
 * A step's `when:`: one comparison, or `all`/`any` of several (one level, so a condition is never deep).
 * A step whose condition is false is skipped, and so is every step that needs it.
 */
export const Condition = z.union([
  Comparison,
  z.strictObject({ all: z.array(Comparison).min(1).max(16) }),
  z.strictObject({ any: z.array(Comparison).min(1).max(16) }),
]);
export type Condition = z.infer<typeof Condition>;

/** The comparisons of a condition. */
export function comparisonsOf(c: Condition): Comparison[] {
  if ('all' in c) return c.all;
  if ('any' in c) return c.any;
  return [c];
}

const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);

/** Evaluates one comparison against `{ input, steps }`. Pure. */
export function compare(c: Comparison, context: Record<string, unknown>): boolean {
  const v = lookup(context, c.path.split('.'));
  if (c.exists !== undefined) return (v !== undefined && v !== null) === c.exists;
  if (c.equals !== undefined) return v !== undefined && same(v, c.equals);
  if (c.notEquals !== undefined) return v === undefined || !same(v, c.notEquals);
  if (c.in !== undefined) return v !== undefined && c.in.some((x) => same(v, x));
  if (c.notIn !== undefined) return v === undefined || !c.notIn.some((x) => same(v, x));
  if (typeof v !== 'number') return false;
  if (c.gt !== undefined) return v > c.gt;
  if (c.gte !== undefined) return v >= c.gte;
  if (c.lt !== undefined) return v < c.lt;
  if (c.lte !== undefined) return v <= c.lte;
  return false;
}

/** Evaluates a `when:` against `{ input, steps }`. Pure. */
export function evaluateCondition(c: Condition, context: Record<string, unknown>): boolean {
  if ('all' in c) return c.all.every((x) => compare(x, context));
  if ('any' in c) return c.any.some((x) => compare(x, context));
  return compare(c, context);
}
