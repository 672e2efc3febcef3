import { asSubmitted, canonicalJson, formatPath, type RerunRequest, type RunRequest, type RunState, type ValidationIssue } from '@pipewright/contracts';
import type { Transition } from './builder.js';

/** How deep the comparison names a differing field (`pipeline.steps[1].prompt`, `input.topic`). */
const DIFF_DEPTH = 4;
/** Most differing fields named in one rejection. */
const MAX_DIFFERENCES = 20;
/** Longest path named (input keys are the sender's own and unbounded): the rejection stays small. */
const MAX_PATH_CHARS = 200;
/** Hex characters of the refused request's digest in its rejection's msg id. */
const KEY_DIGEST_CHARS = 16;

/**
 * A request for a run id that exists. The same request again (the same digest) is the same run and
 * changes nothing; another one is refused with `run.rejected` (reason `conflict`) naming the fields
 * that differ, under a msg id of its own, so that neither an earlier rejection nor the run hides it.
 */
export function existingRun(current: RunState, digest: string, request: { kind: 'submit'; request: RunRequest } | { kind: 'rerun'; request: RerunRequest }): Transition {
  // Runs stored before digests were kept cannot tell: taken as the same request, as before.
  if (current.requestDigest === undefined || current.requestDigest === digest)
    return { kind: 'unchanged', reason: `run ${current.runId} already exists (the same request again)` };
  const issues = request.kind === 'submit' ? submitDifferences(current, request.request) : rerunDifferences(current, request.request);
  return {
    kind: 'unchanged',
    reason: `run ${current.runId} already exists with another request: ${issues.map((i) => i.path).join(', ')}`,
    reject: { reason: 'conflict', issues, key: `conflict:${digest.slice(0, KEY_DIGEST_CHARS)}` },
  };
}

const differs = (path: string, runId: string): ValidationIssue => ({ path, message: `differs from the request that created run ${runId}` });

function submitDifferences(s: RunState, r: RunRequest): ValidationIssue[] {
  if (s.rerunOf) return [{ path: 'runId', message: `run ${s.runId} exists as a re-run of ${s.rerunOf.runId}: choose another run id` }];
  const paths: string[] = [];
  diffPaths(asSubmitted(s.pipeline, r.pipeline), r.pipeline, ['pipeline'], paths);
  diffPaths(s.input, r.input, ['input'], paths);
  diffPaths(s.tenant, r.tenant, ['tenant'], paths);
  diffPaths(s.labels ?? {}, r.labels ?? {}, ['labels'], paths);
  // The run keeps its limits merged with the pipeline's (and raised by approvals), not as requested: when
  // nothing else differs, the budget does.
  if (paths.length === 0) paths.push('budget');
  return paths.map((p) => differs(p, s.runId));
}

function rerunDifferences(s: RunState, r: RerunRequest): ValidationIssue[] {
  if (!s.rerunOf) return [{ path: 'runId', message: `run ${s.runId} exists and is not a re-run: choose another run id` }];
  const paths: string[] = [];
  diffPaths(s.rerunOf, r.from, ['from'], paths);
  if (r.labels) diffPaths(s.labels ?? {}, r.labels, ['labels'], paths);
  if (paths.length === 0) paths.push('budget', 'reason');
  return paths.map((p) => differs(p, s.runId));
}

/** Adds the paths where `a` and `b` differ, descending into objects and same-length arrays up to DIFF_DEPTH. */
function diffPaths(a: unknown, b: unknown, path: (string | number)[], out: string[]): void {
  if (out.length >= MAX_DIFFERENCES || canonicalJson(a) === canonicalJson(b)) return;
  const deeper = path.length < DIFF_DEPTH;
  if (deeper && isRecord(a) && isRecord(b)) {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) diffPaths(a[k], b[k], [...path, k], out);
    return;
  }
  if (deeper && Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    a.forEach((x, i) => diffPaths(x, b[i], [...path, i], out));
    return;
  }
  const p = formatPath(path);
  out.push(p.length <= MAX_PATH_CHARS ? p : `${p.slice(0, MAX_PATH_CHARS)}…`);
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
