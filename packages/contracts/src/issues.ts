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
  return error.issues.flatMap((i) =>
    // An unknown key is about the key itself: name it in the path (`steps[0].modle`).
    i.code === 'unrecognized_keys'
      ? i.keys.map((k) => ({ path: formatPath([...prefix, ...i.path, k]), message: 'unknown field' }))
      : [{ path: formatPath([...prefix, ...i.path]), message: i.message }],
  );
}

/** One line per issue, for errors and logs. */
export function describeIssues(issues: readonly ValidationIssue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join('; ');
}
