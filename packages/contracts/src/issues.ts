import type { z } from 'zod';
import type { ValidationIssue } from './common.js';

/** Formats a path as users write it: `steps[2].needs[0]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out || '(root)';
}

/** zod issues → our issues, each with the path of the offending field. */
export function fromZodError(error: z.ZodError, prefix: readonly PropertyKey[] = []): ValidationIssue[] {
  return fromIssues(error.issues, prefix);
}

function fromIssues(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[]): ValidationIssue[] {
  return issues.flatMap((i) => {
    // An unknown key is about the key itself: name it in the path (`steps[0].modle`).
    if (i.code === 'unrecognized_keys') return i.keys.map((k) => ({ path: formatPath([...prefix, ...i.path, k]), message: 'unknown field' }));
    // A union (`approval: {…} | false`, a model as a string or an object): when the value has the
    // shape of exactly one option, that option's issues name the field that is wrong.
    if (i.code === 'invalid_union') {
      const fitting = i.errors.filter((branch) => !branch.every((b) => b.path.length === 0 && (b.code === 'invalid_type' || b.code === 'invalid_value')));
      if (fitting.length === 1) return fromIssues(fitting[0]!, [...prefix, ...i.path]);
    }
    return [{ path: formatPath([...prefix, ...i.path]), message: i.message }];
  });
}

/** One line per issue, for errors and logs. */
export function describeIssues(issues: readonly ValidationIssue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join('; ');
}
