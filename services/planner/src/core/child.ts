import {
  childRunId,
  lookup,
  msgIds,
  PipelineSpec,
  renderTemplate,
  requestDigest,
  roundUsd,
  SCHEMA_VERSION,
  subjects,
  TemplateError,
  type CancelRequest,
  type ParentRef,
  type RunRequest,
  type RunState,
  type StepState,
  type SubPipelineStep,
} from '@pipewright/contracts';
import type { Builder, Transition } from './builder.js';
import { MAX_COMMAND_BYTES, templateContext } from './dispatch.js';
import type { ChildFinished } from './events.js';
import { childBudget } from './child-budget.js';

/** A template that is one reference and nothing else: its value keeps its JSON type. */
const LONE_REF = /^\{\{\s*([^{}]*?)\s*\}\}$/;

/** The key under which a child run's spending is added to its parent (once) and awaited while the parent settles. */
export const childKey = (childRunId: string): string => `child:${childRunId}`;

/** Adds what a child run spent to this run, once; it is then held from the run's own calls (see ownBudget). */
export function chargeChild(b: Builder, e: Pick<ChildFinished, 'child' | 'usage' | 'costUsd'>): boolean {
  if (!b.chargeOnce(childKey(e.child), e.usage, e.costUsd)) return false;
  const was = b.state.childSpend ?? { costUsd: 0, tokens: 0 };
  b.state.childSpend = { costUsd: roundUsd(was.costUsd + (e.costUsd ?? 0)), tokens: was.tokens + e.usage.totalTokens };
  return true;
}

/**
 * Starts a `pipeline` step: submits its child run (`pw.runs.submit`, through the outbox) with the
 * rendered input, the parent's tenant and labels, a budget within what this run has left, and a
 * deadline that does not outlive this run's. The step waits (`dispatched`, `child`) for the child's end.
 * Says false when starting it ended the run (a template with no value, no budget left).
 */
export function startChild(b: Builder, step: SubPipelineStep): boolean {
  const s = b.state;
  const { error: _error, child: _child, finishedAt: _finished, output: _output, ...prev }: StepState = s.steps[step.id] ?? { status: 'pending', attempt: 0 };
  const attempt = prev.attempt + 1;
  const fail = (status: 'failed' | 'budget_exhausted', reason: string): false => {
    s.steps[step.id] = { ...prev, status: 'failed', attempt, error: { code: status, message: reason, retryable: false }, finishedAt: b.at };
    b.finish(status, reason, [step.id]);
    return false;
  };
  let input: Record<string, unknown>;
  try {
    input = renderInput(step.input, templateContext(s));
  } catch (err) {
    if (!(err instanceof TemplateError)) throw err;
    return fail('failed', `step ${step.id}: ${err.message}`);
  }
  const parsed = PipelineSpec.safeParse(step.pipeline);
  if (!parsed.success) return fail('failed', `step ${step.id}: its pipeline is not a valid pipeline spec: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  // The child may not outlive this run: its deadline is at most what this run has left.
  const leftMs = Math.max(1, Math.floor(Date.parse(s.deadlineAt) - b.now.getTime()));
  const spec: PipelineSpec = { ...parsed.data, limits: { ...parsed.data.limits, deadlineMs: Math.min(parsed.data.limits.deadlineMs, leftMs) } };
  const budget = childBudget(s, step, spec);
  if ('exhausted' in budget) return fail('budget_exhausted', `step ${step.id}: no budget left for its sub-pipeline: ${budget.exhausted} (guard: budget)`);
  const runId = childRunId(s.runId, step.id, attempt);
  const request: RunRequest = {
    schemaVersion: SCHEMA_VERSION,
    runId,
    pipeline: spec,
    input,
    tenant: s.tenant,
    ...(s.labels ? { labels: s.labels } : {}),
    ...(Object.keys(budget.limits).length > 0 ? { budget: budget.limits } : {}),
    parent: { runId: s.runId, stepId: step.id, attempt },
  };
  const bytes = Buffer.byteLength(JSON.stringify(request), 'utf8');
  if (bytes > MAX_COMMAND_BYTES) return fail('failed', `step ${step.id}: its child run request is ${bytes} bytes, more than the ${MAX_COMMAND_BYTES} a message may carry; pass the child less input`);
  const digest = requestDigest(request);
  const granted = Object.keys(budget.held).length > 0 ? { budget: budget.held } : {};
  s.steps[step.id] = { ...prev, status: 'dispatched', attempt, dispatchedAt: b.at, child: { runId, digest, ...granted } };
  s.dispatches += 1;
  b.send(subjects.runSubmit, msgIds.submit(runId, digest), request);
  const limits = [request.budget?.maxUsd !== undefined ? `maxUsd ${request.budget.maxUsd}` : '', request.budget?.maxTokens !== undefined ? `maxTokens ${request.budget.maxTokens}` : '', `deadlineMs ${spec.limits.deadlineMs}`].filter(Boolean).join(', ');
  b.decide('start-child', [step.id], `step ${step.id} runs pipeline ${spec.name} as child run ${runId} (${limits})`);
  return true;
}

/** Each input field rendered: a lone `{{path}}` gives the value itself (any JSON type), anything else a string. */
export function renderInput(templates: Record<string, string>, ctx: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, t] of Object.entries(templates)) {
    const lone = LONE_REF.exec(t);
    if (!lone) {
      out[k] = renderTemplate(t, ctx);
      continue;
    }
    const path = lone[1]!.trim();
    const value = lookup(ctx, path.split('.'));
    if (value === undefined) throw new TemplateError(`input.${k}: template references "${path}", which has no value`, path);
    out[k] = value;
  }
  return out;
}

/**
 * A child run ended. Its spending is the parent's whatever happens (added once). The step waiting for
 * it succeeds with the child's output, or the parent fails naming the child and how it ended. The end of
 * a child the step no longer waits for (an earlier attempt's) only adds its spending.
 */
export function onChildFinished(b: Builder, e: ChildFinished): Transition {
  const s = b.state;
  const { stepId } = e.parent;
  const st = s.steps[stepId];
  const charged = chargeChild(b, e);
  if (!st || st.status !== 'dispatched' || st.child?.runId !== e.child) {
    return charged ? b.done() : { kind: 'unchanged', reason: `step ${stepId} does not wait for child run ${e.child}` };
  }
  const spent = { usage: e.usage, costUsd: e.costUsd };
  if (e.status === 'succeeded') {
    b.completeStep(stepId, { ...spent, output: e.output }, `sub-pipeline ${stepId} (run ${e.child}) succeeded; its cost of ${e.costUsd} USD is the run's`);
    return b.done();
  }
  const reason =
    e.status === 'rejected'
      ? `sub-pipeline ${stepId} (run ${e.child}) was rejected: ${e.reason}${e.issues?.length ? `: ${e.issues.slice(0, 5).map((i) => `${i.path}: ${i.message}`).join('; ')}` : ''}`
      : `sub-pipeline ${stepId} (run ${e.child}) ended ${e.status}: ${e.reason}`;
  s.steps[stepId] = { ...st, ...spent, status: 'failed', error: { code: `child_${e.status}`, message: reason.slice(0, 2_000), retryable: false }, finishedAt: b.at };
  b.finish('failed', reason, [stepId]);
  return b.done();
}

/**
 * The run ended with child runs still going: each is cancelled (through the outbox), and the keys under
 * which their ends are awaited while the run settles (see beginSettling) are returned.
 */
export function stopChildren(b: Builder): string[] {
  const s = b.state;
  const keys: string[] = [];
  for (const st of Object.values(s.steps)) {
    const child = st.child?.runId;
    if (st.status !== 'dispatched' || !child) continue;
    const cancel: CancelRequest = { schemaVersion: SCHEMA_VERSION, runId: child, reason: `the parent run ${s.runId} ended ${s.status}: ${s.reason ?? ''}`.slice(0, 1_000) };
    b.send(subjects.runCancel, `${s.runId}:cancel-child:${child}`, cancel);
    keys.push(childKey(child));
  }
  return keys;
}

/**
 * Whether a run request that names a parent may start a child run: the parent's step waits, on that
 * attempt, for this run id submitted with this very request (its digest). Anything else naming a parent
 * is a forgery (a client predicting a child's id to answer for it) and is refused.
 */
export function awaitsChild(parent: RunState | undefined, ref: ParentRef, runId: string, digest: string): boolean {
  const st = parent?.steps[ref.stepId];
  return st !== undefined && st.attempt === ref.attempt && st.child?.runId === runId && st.child.digest === digest;
}
