import { formatPath } from '@pipewright/contracts';

/** Most paths a conflict names: enough to see what changed, bounded for a huge request. */
const MAX_DIFFERENCES = 50;

/**
 * The paths where two JSON values differ (`input.topic`, `pipeline.steps[0].prompt`): a key present in
 * one only, a different type, a different length or a different leaf value. Pure.
 */
export function differences(a: unknown, b: unknown): string[] {
  const out: string[] = [];
  walk(a, b, [], out);
  return out;
}

function walk(a: unknown, b: unknown, path: (string | number)[], out: string[]): void {
  if (out.length >= MAX_DIFFERENCES) return;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) out.push(formatPath(path));
    else a.forEach((x, i) => walk(x, b[i], [...path, i], out));
    return;
  }
  if (isObject(a) && isObject(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (!(k in a) || !(k in b)) {
        if (out.length < MAX_DIFFERENCES) out.push(formatPath([...path, k]));
      } else walk(a[k], b[k], [...path, k], out);
    }
    return;
  }
  if (a !== b) out.push(formatPath(path));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
