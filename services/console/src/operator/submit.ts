import { randomBytes } from 'node:crypto';
import { asSubmitted, canonicalJson, checkPipeline, checkRunInput, fromZodError, requestDigest, RunRequest, SCHEMA_VERSION, type RunState, type ValidationIssue } from '@pipewright/contracts';
import { differences } from './differences.js';

/** A run id that sorts by time: `r-<base36 ms>-<random>` (the CLI's form). */
export function newRunId(): string {
  return `r-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

export type CheckedSubmit = { ok: true; request: RunRequest; digest: string; explicitRunId: boolean } | { ok: false; issues: ValidationIssue[] };

/**
 * Validates a submitted body as the planner will (the schema, the pipeline's graph, templates and limits
 * with the request's budget, the input against the pipeline's input schema; the tools are resolved
 * against the registry by the planner) and gives its canonical form and digest. The digest leaves
 * the run id out when the console chooses it, so a retry with the same key and body is the same request.
 */
export function checkSubmit(body: unknown): CheckedSubmit {
  const withVersion = typeof body === 'object' && body !== null && !Array.isArray(body) ? { schemaVersion: SCHEMA_VERSION, ...body } : body;
  const parsed = RunRequest.safeParse(withVersion);
  if (!parsed.success) return { ok: false, issues: fromZodError(parsed.error) };
  const raw = withVersion as { pipeline: unknown };
  const budget = parsed.data.budget;
  const pipeline = checkPipeline(raw.pipeline, ['pipeline'], 0, budget ? { budget, at: ['budget'] } : undefined);
  if (!pipeline.ok) return { ok: false, issues: pipeline.issues };
  const inputIssues = checkRunInput(pipeline.spec, parsed.data.input, 'input');
  if (inputIssues.length > 0) return { ok: false, issues: inputIssues };
  const request = parsed.data;
  return { ok: true, request, digest: requestDigest(request), explicitRunId: request.runId !== undefined };
}

/**
 * Where a stored run differs from a request for the same run id: the fields a run keeps as it was asked
 * (pipeline, input, tenant, labels). Its budget is kept merged with the pipeline's, so it is left out.
 */
export function differencesFromStored(state: RunState, request: RunRequest): string[] {
  // The run keeps the digest of the request that created it: the same request is no conflict.
  if (state.requestDigest !== undefined && state.requestDigest === requestDigest(request)) return [];
  const asked = { pipeline: request.pipeline, input: request.input, tenant: request.tenant, labels: request.labels ?? {} };
  // Its pipeline holds the tools resolved at submit: compared as the request gave them.
  const stored = { pipeline: asSubmitted(state.pipeline, request.pipeline), input: state.input, tenant: state.tenant, labels: state.labels ?? {} };
  return differences(JSON.parse(canonicalJson(stored)), JSON.parse(canonicalJson(asked)));
}
