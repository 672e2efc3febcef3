import type { Comparison, Condition } from '@pipewright/contracts';
import { refPath, type RefBase } from './ref.js';

// `when:` helpers: `when: ({ steps }) => eq(steps.triage.output.category, 'refund')`. Each compares the
// value at a typed reference; the compared value must have the reference's type.

/** The value at `ref` equals `value` (deep, as JSON). */
export const eq = <T>(ref: RefBase<T>, value: NoInfer<T>): Comparison => ({ path: refPath(ref), equals: value });
/** The value at `ref` is missing or not equal to `value`. */
export const ne = <T>(ref: RefBase<T>, value: NoInfer<T>): Comparison => ({ path: refPath(ref), notEquals: value });
/** The value at `ref` is one of `values`. */
export const oneOf = <T>(ref: RefBase<T>, values: readonly NoInfer<T>[]): Comparison => ({ path: refPath(ref), in: [...values] });
/** The value at `ref` is missing or none of `values`. */
export const noneOf = <T>(ref: RefBase<T>, values: readonly NoInfer<T>[]): Comparison => ({ path: refPath(ref), notIn: [...values] });
/** The value at `ref` is there and not null (`present: false`: it is not). */
export const exists = (ref: RefBase<unknown>, present = true): Comparison => ({ path: refPath(ref), exists: present });

type NumberRef = RefBase<number | null | undefined>;
/** The value at `ref` is a number greater than `n` (a missing value or a non-number: false). */
export const gt = (ref: NumberRef, n: number): Comparison => ({ path: refPath(ref), gt: n });
export const gte = (ref: NumberRef, n: number): Comparison => ({ path: refPath(ref), gte: n });
export const lt = (ref: NumberRef, n: number): Comparison => ({ path: refPath(ref), lt: n });
export const lte = (ref: NumberRef, n: number): Comparison => ({ path: refPath(ref), lte: n });

/** Every comparison holds. */
export const all = (...comparisons: Comparison[]): Condition => ({ all: comparisons });
/** At least one comparison holds. */
export const any = (...comparisons: Comparison[]): Condition => ({ any: comparisons });
