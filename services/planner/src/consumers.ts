import { createHash } from 'node:crypto';
import {
  ApprovalDecision,
  CancelRequest,
  consumers,
  headers,
  msgIds,
  PLANNER_CHILD_SUBJECTS,
  PLANNER_EVENT_SUBJECTS,
  type ParentRef,
  requestDigest,
  RunDeadlineTimer,
  RerunRequest,
  ResumeRequest,
  RunId,
  RunRequest,
  SCHEMA_VERSION,
  StepCompleted,
  StepFailed,
  StepParked,
  StepRevoked,
  streams,
  subjects,
  TaskSpent,
  TERMINAL_STATUSES,
  type RunRejected,
  type ValidationIssue,
} from '@pipewright/contracts';
import { z } from 'zod';

/** What the planner consumes from PW_EVENTS: task results, parks, revocations, lost spending, approval decisions. */
const StepEvent = z.discriminatedUnion('type', [StepCompleted, StepFailed, StepParked, StepRevoked, TaskSpent, ApprovalDecision]);
import { ACK, currentTraceparent, ensurePullConsumer, extractTrace, publishJson, startConsumer, type ConsumerHandle, type MessageContext, type Outcome, type ServiceRuntime } from '@pipewright/kit';
import type { ApplyResult, RunApplier } from './apply.js';
import type { PlannerConfig } from './config.js';
import { admit } from './core/admit.js';
import { deadlineTimerMsgId, stepTimerMsgId, timerLifeOf } from './core/timers.js';
import { decisionCheck } from './decision-signature.js';
import { cancelRetryMs, keyOf, recordRun } from './consumer-common.js';
import { startFlowConsumers } from './flow-consumers.js';
import { onRerun, onResume, type Reject } from './run-control.js';
import type { ToolResolver } from './tool-resolver.js';

/**
 * The planner's inputs: run requests and cancellations (PW_RUNS, work queue), and step results and
 * approval decisions (PW_EVENTS, filtered to the types the planner acts on). Each is a durable consumer shared by every
 * planner replica.
 */
export async function startPlannerConsumers(rt: ServiceRuntime, cfg: PlannerConfig, applier: RunApplier, tools: ToolResolver): Promise<void> {
  const common = { ackWaitMs: cfg.PW_PLANNER_ACK_WAIT_MS, maxDeliver: cfg.PW_PLANNER_MAX_DELIVER };
  const checkDecision = decisionCheck(cfg, rt.log);
  await ensurePullConsumer(rt.jsm, { stream: streams.runs.name, durable: consumers.plannerRuns, filterSubjects: [subjects.runSubmit], ...common });
  // A cancel that overtook its run's submission waits for it (see the handler): no delivery limit.
  await ensurePullConsumer(rt.jsm, { stream: streams.runs.name, durable: `${consumers.plannerRuns}-cancel`, filterSubjects: [subjects.runCancel], ackWaitMs: common.ackWaitMs, maxDeliver: -1 });
  // A resume or re-run of a run that still settles waits for it (bounded in time, see run-control.ts).
  for (const [durable, subject] of [[consumers.plannerResume, subjects.runResume], [consumers.plannerRerun, subjects.runRerun]] as const)
    await ensurePullConsumer(rt.jsm, { stream: streams.runs.name, durable, filterSubjects: [subject], ackWaitMs: common.ackWaitMs, maxDeliver: -1 });
  // A timer is held back with delayed naks until its deadline: no delivery is ever the last.
  await ensurePullConsumer(rt.jsm, { stream: streams.runs.name, durable: consumers.plannerDeadlines, filterSubjects: [subjects.runDeadline], ackWaitMs: common.ackWaitMs, maxDeliver: -1 });
  // A signal that overtook its run's submission waits for it, like a cancel: no delivery limit.
  await ensurePullConsumer(rt.jsm, { stream: streams.runs.name, durable: consumers.plannerSignals, filterSubjects: [subjects.runSignal], ackWaitMs: common.ackWaitMs, maxDeliver: -1 });
  await ensurePullConsumer(rt.jsm, {
    stream: streams.events.name,
    durable: consumers.plannerEvents,
    filterSubjects: [...PLANNER_EVENT_SUBJECTS],
    ...common,
  });
  // Child runs exist only from this consumer's creation on: the ends before it concern no parent.
  await ensurePullConsumer(rt.jsm, { stream: streams.events.name, durable: consumers.plannerChildren, filterSubjects: [...PLANNER_CHILD_SUBJECTS], deliverPolicy: 'new', ...common });

  for (const durable of [consumers.plannerRuns, `${consumers.plannerRuns}-cancel`, consumers.plannerResume, consumers.plannerRerun, consumers.plannerDeadlines, consumers.plannerSignals]) rt.watchConsumer(streams.runs.name, durable);
  rt.watchConsumer(streams.events.name, consumers.plannerEvents);
  rt.watchConsumer(streams.events.name, consumers.plannerChildren);

  // One shutdown step, registered before the first consumer runs: it stops every consumer started so
  // far at once, so a start-up attempt that fails half-way is undone, and a drain stops them together.
  const started: ConsumerHandle[] = [];
  rt.shutdown.add('consumers', async (graceMs) => {
    await Promise.all(started.map((h) => h.stop(graceMs)));
  });
  /** `key` names the refused request in the msg id: a later, different refusal for the run id is not a duplicate. */
  const reject = async (runId: string, issues: ValidationIssue[], reason: string, key = '0', parent?: ParentRef) => {
    // A refused child run reports to its parent (see the children's consumer).
    const event: RunRejected = { schemaVersion: SCHEMA_VERSION, type: 'run.rejected', runId, at: new Date().toISOString(), reason, issues, ...(parent ? { parent } : {}) };
    await publishJson(rt.js, subjects.runEvent(runId, 'run.rejected'), event, { msgId: msgIds.event(runId, 'run.rejected', key) });
    rt.log.warn({ runId, reason, issues }, 'run request rejected');
  };
  const rejectTransition: Reject = (runId, r) => reject(runId, r.issues, r.reason, r.key);

  const base = { js: rt.js, service: 'planner', log: rt.log, concurrency: cfg.PW_PLANNER_CONCURRENCY, ...common };
  started.push(await startConsumer({
    ...base,
    stream: streams.runs.name,
    durable: consumers.plannerRuns,
    schema: RunRequest,
    spanName: 'pw.runs.submit',
    // A request that cannot be decoded is not routed to a parent: the planner's own child requests always decode.
    onInvalid: async ({ raw, seq, issues, reason }) => {
      const claimed = (raw as { runId?: unknown } | undefined)?.runId;
      await reject(RunId.safeParse(claimed).success ? (claimed as string) : `rejected-${seq}`, issues, reason);
    },
    handler: async (request, ctx) => {
      const runId = request.runId ?? derivedRunId(ctx.seq, request);
      ctx.span.setAttribute('pw.run.id', runId);
      // Only the planner starts child runs: a request naming a parent that does not wait for it is refused.
      if (request.parent && !(await applier.childAdmissible(request.parent, runId, requestDigest(request)))) {
        const issues = [{ path: 'parent', message: `run ${request.parent.runId} does not wait for child run ${runId} with this request (step ${request.parent.stepId}, attempt ${request.parent.attempt}): parent is set by the planner only` }];
        await reject(runId, issues, 'not a child run of its parent');
        return { kind: 'reject', reason: `run ${runId} rejected: ${issues[0]!.message}` };
      }
      const admitted = admit(request, await tools.entriesFor(request), { maxStateBytes: cfg.PW_RUN_STATE_MAX_BYTES });
      if (!admitted.ok) {
        await reject(runId, admitted.issues, 'invalid pipeline or input', '0', request.parent);
        return { kind: 'reject', reason: `run ${runId} rejected: ${admitted.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}` };
      }
      // The run span's parent: the submitter's span (the message's traceparent), else this handling.
      const tp = currentTraceparent(extractTrace(ctx.headers)) ?? currentTraceparent();
      const r = await applier.apply(runId, { type: 'run.submitted', runId, request, pipeline: admitted.pipeline, ...(tp ? { traceparent: tp } : {}) }, keyOf(streams.runs.name, ctx));
      recordRun(ctx.span, r);
      ctx.log.info({ runId, result: r.kind, ...(r.kind === 'unchanged' ? { reason: r.reason } : {}) }, 'run submitted');
      // The run id exists with another request: refused (conflict), the run is left as it is.
      if (r.kind === 'unchanged' && r.reject) await rejectTransition(runId, r.reject);
      return ACK;
    },
  }));
  // Resumes and re-runs: a request that waits for its run to settle has no delivery limit (bounded in time).
  const control = <T extends { runId: string }>(run: (req: T, ctx: MessageContext, eventKey: string) => Promise<{ result: ApplyResult; outcome: Outcome }>) => async (req: T, ctx: MessageContext) => {
    ctx.span.setAttribute('pw.run.id', req.runId);
    const { result, outcome } = await run(req, ctx, keyOf(streams.runs.name, ctx));
    recordRun(ctx.span, result);
    return outcome;
  };
  const controlBase = { ...base, maxDeliver: -1, stream: streams.runs.name };
  started.push(await startConsumer({ ...controlBase, durable: consumers.plannerResume, schema: ResumeRequest, spanName: 'pw.runs.resume', handler: control<ResumeRequest>((r, c, k) => onResume(applier, r, c, k, rejectTransition)) }));
  started.push(await startConsumer({
    ...controlBase,
    durable: consumers.plannerRerun,
    schema: RerunRequest,
    spanName: 'pw.runs.rerun',
    onInvalid: async ({ raw, seq, issues, reason }) => {
      const claimed = (raw as { runId?: unknown } | undefined)?.runId;
      if (RunId.safeParse(claimed).success) await reject(claimed as string, issues, reason, `invalid-${seq}`);
    },
    handler: control<RerunRequest>((r, c, k) => onRerun(applier, r, c, k, rejectTransition)),
  }));
  started.push(await startConsumer({
    ...base,
    stream: streams.runs.name,
    durable: `${consumers.plannerRuns}-cancel`,
    schema: CancelRequest,
    spanName: 'pw.runs.cancel',
    handler: async (req, ctx) => {
      const r = await applier.apply(req.runId, { type: 'run.cancel', runId: req.runId, reason: req.reason }, keyOf(streams.runs.name, ctx));
      recordRun(ctx.span, r);
      if (r.kind === 'unchanged' && r.noRun) {
        // Submissions and cancels are separate consumers (and replicas): a cancel sent right after its
        // submit can be handled first. It waits for the run, for a while, instead of being lost.
        const waitedMs = Date.now() - ctx.storedAtMs;
        if (waitedMs < cfg.PW_PLANNER_CANCEL_WAIT_MS) return { kind: 'wait', delayMs: cancelRetryMs(ctx.deliveryCount), reason: 'the run is not submitted yet; the cancel waits for it' };
        ctx.log.warn({ runId: req.runId, waitedMs }, 'cancel of a run that does not exist: dropped');
        return ACK;
      }
      ctx.log.info({ runId: req.runId, result: r.kind }, 'run cancel handled');
      return ACK;
    },
  }));
  started.push(await startConsumer({
    ...base,
    stream: streams.events.name,
    durable: consumers.plannerEvents,
    schema: StepEvent,
    spanName: 'pw.events.step',
    spanNameOf: (event) => event.type,
    handler: async (result, ctx) => {
      ctx.span.setAttributes({ 'pw.run.id': result.runId, 'pw.step.id': result.stepId });
      if (result.type === 'approval.decided') {
        const refused = checkDecision(ctx);
        if (refused !== undefined) {
          ctx.log.warn({ runId: result.runId, approvalId: result.approvalId, decision: result.decision, reason: refused }, 'approval decision refused: not signed by a trusted approver');
          return { kind: 'reject', reason: `approval decision refused: ${refused}` };
        }
      }
      const r = await applier.apply(result.runId, result, keyOf(streams.events.name, ctx), ctx.seq);
      recordRun(ctx.span, r);
      if (result.type === 'approval.decided') {
        // A decision that changes nothing (stale, duplicate, run already over) is worth a line: a person acted.
        const facts = { runId: result.runId, stepId: result.stepId, approvalId: result.approvalId, decision: result.decision, by: result.by };
        if (r.kind === 'unchanged') ctx.log.info({ ...facts, reason: r.reason }, 'approval decision ignored');
        // A run that stopped keeps the decision on its step and acts on it only if it is resumed.
        else if (r.kind === 'applied' && TERMINAL_STATUSES.has(r.state.status)) ctx.log.info({ ...facts, reason: `run already ${r.state.status}` }, 'approval decision kept for a resume');
        else ctx.log.info({ ...facts, result: r.kind, ...(r.kind === 'applied' ? { status: r.state.status } : {}) }, 'approval decision applied');
      } else if (r.kind === 'unchanged') ctx.log.debug({ runId: result.runId, stepId: result.stepId, reason: r.reason }, 'step result ignored');
      else ctx.log.info({ runId: result.runId, stepId: result.stepId, type: result.type, result: r.kind, ...(r.kind === 'applied' ? { status: r.state.status } : {}) }, 'step result applied');
      return ACK;
    },
  }));
  await startFlowConsumers(applier, base, cfg.PW_PLANNER_CANCEL_WAIT_MS, started);
  started.push(await startConsumer({
    ...base,
    maxDeliver: -1,
    stream: streams.runs.name,
    durable: consumers.plannerDeadlines,
    schema: RunDeadlineTimer,
    spanName: 'pw.runs.deadline',
    handler: (timer, ctx) => onDeadlineTimer(rt, applier, timer, ctx),
  }));
}




/** A run id for a request that brought none: derived from the stream sequence, so a redelivery gets the same id. */
function derivedRunId(seq: number, request: RunRequest): string {
  const h = createHash('sha256').update(JSON.stringify(request)).digest('hex').slice(0, 10);
  return `run-${seq}-${h}`;
}

/** Header counting the re-publications of a far-off deadline timer. */
const TIMER_GENERATION = 'Pw-Timer-Generation';
/**
 * Longest single hold of a timer. At each wake-up a timer whose run has finished is dropped, so the
 * server holds timers only for live runs and those that finished in the last minute.
 */
const TIMER_HOLD_MS = 60_000;
/** PW_RUNS keeps messages 7 days: a timer is re-published (a fresh copy) after ~3.5 days of holds. */
const TIMER_DELIVERIES_PER_COPY = 5_000;

/** Holds a run's deadline timer until its deadline, then lets the planner time the run out if it is still going. */
async function onDeadlineTimer(rt: ServiceRuntime, applier: RunApplier, timer: RunDeadlineTimer, ctx: MessageContext): Promise<Outcome> {
  const left = Date.parse(timer.deadlineAt) - Date.now();
  if (left > 0) {
    if (ctx.deliveryCount > 1 && !(await applier.isLive(timer.runId))) return ACK;
    if (ctx.deliveryCount < TIMER_DELIVERIES_PER_COPY) return { kind: 'wait', delayMs: Math.min(left + 50, TIMER_HOLD_MS), reason: 'deadline not reached' };
    const generation = Number(ctx.header(TIMER_GENERATION) ?? '0') + 1;
    const life = timerLifeOf(ctx.header(headers.msgId) ?? '');
    const msgId = timer.step ? stepTimerMsgId(timer.runId, timer.step.stepId, timer.step.attempt, generation) : deadlineTimerMsgId(timer.runId, generation, life);
    await publishJson(rt.js, subjects.runDeadline, timer, { msgId, headers: { [TIMER_GENERATION]: String(generation) } });
    return ACK;
  }
  // A step's timer (a signal step's timeout) or the run's deadline.
  const event = timer.step ? { type: 'step.timeout' as const, runId: timer.runId, ...timer.step } : { type: 'run.deadline' as const, runId: timer.runId };
  const r = await applier.apply(timer.runId, event, keyOf(streams.runs.name, ctx));
  recordRun(ctx.span, r);
  ctx.log.info({ runId: timer.runId, ...(timer.step ? { stepId: timer.step.stepId, attempt: timer.step.attempt } : {}), result: r.kind, ...(r.kind === 'unchanged' ? { reason: r.reason } : r.kind === 'applied' ? { status: r.state.status } : {}) }, timer.step ? 'step timer fired' : 'run deadline timer fired');
  return ACK;
}
