import type { RerunRequest, ResumeRequest } from '@pipewright/contracts';
import { ACK, currentTraceparent, extractTrace, type MessageContext, type Outcome } from '@pipewright/kit';
import type { ApplyResult, RunApplier } from './apply.js';
import type { Rejection } from './core/builder.js';

/**
 * How long a resume or a re-run waits for its run (or source run) to settle: an ended run settles
 * within SETTLE_TIMEOUT_MS (30 s) of ending; twice that and more, and the wait is given up (logged).
 */
export const RUN_CONTROL_WAIT_MS = 120_000;

/** Publishes `run.rejected` for a run: what the request was refused for, under a msg id of its own. */
export type Reject = (runId: string, rejection: Rejection) => Promise<void>;

/** What to do with a request whose transition says `wait` or `reject`: hold it a little, or publish the refusal. */
async function settleRequest(runId: string, r: ApplyResult, ctx: MessageContext, reject: Reject): Promise<Outcome> {
  if (r.kind !== 'unchanged') return ACK;
  if (r.reject) {
    await reject(runId, r.reject);
    return ACK;
  }
  if (r.wait) {
    const waitedMs = Date.now() - ctx.storedAtMs;
    if (waitedMs < RUN_CONTROL_WAIT_MS) return { kind: 'wait', delayMs: Math.min(5_000, 250 * ctx.deliveryCount), reason: r.reason };
    ctx.log.warn({ runId, waitedMs, reason: r.reason }, 'run control request gave up waiting');
    return ACK;
  }
  ctx.log.info({ runId, reason: r.reason }, 'run control request changed nothing');
  return ACK;
}

/** `pw.runs.resume`: resumes a stopped run (see core/resume.ts). */
export async function onResume(applier: RunApplier, req: ResumeRequest, ctx: MessageContext, eventKey: string, reject: Reject): Promise<{ result: ApplyResult; outcome: Outcome }> {
  const result = await applier.apply(req.runId, { type: 'run.resume', runId: req.runId, request: req }, eventKey);
  if (result.kind === 'applied') ctx.log.info({ runId: req.runId, resumeId: req.resumeId, status: result.state.status }, 'run resumed');
  return { result, outcome: await settleRequest(req.runId, result, ctx, reject) };
}

/**
 * `pw.runs.rerun`: a new run reusing a finished run's outputs (see core/rerun.ts). The source run is read
 * here, its outputs resolved, so that the decision stays pure.
 */
export async function onRerun(applier: RunApplier, req: RerunRequest, ctx: MessageContext, eventKey: string, reject: Reject): Promise<{ result: ApplyResult; outcome: Outcome }> {
  const source = await applier.rerunSource(req.from.runId);
  const tp = currentTraceparent(extractTrace(ctx.headers)) ?? currentTraceparent();
  const result = await applier.apply(req.runId, { type: 'run.rerun', runId: req.runId, request: req, source, ...(tp ? { traceparent: tp } : {}) }, eventKey);
  if (result.kind === 'applied') ctx.log.info({ runId: req.runId, from: req.from }, 're-run started');
  return { result, outcome: await settleRequest(req.runId, result, ctx, reject) };
}
