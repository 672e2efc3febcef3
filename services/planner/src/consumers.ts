import { createHash } from 'node:crypto';
import { ApprovalDecision, CancelRequest, consumers, msgIds, PLANNER_EVENT_TYPES, RunDeadlineTimer, RunId, RunRequest, SCHEMA_VERSION, StepCompleted, StepFailed, StepParked, streams, subjects, type RunRejected, type ValidationIssue } from '@pipewright/contracts';
import { z } from 'zod';

/** What the planner consumes from PW_EVENTS: step results and approval decisions. */
const StepEvent = z.discriminatedUnion('type', [StepCompleted, StepFailed, StepParked, ApprovalDecision]);
import { ACK, currentTraceparent, ensurePullConsumer, publishJson, startConsumer, type ConsumerHandle, type MessageContext, type Outcome, type ServiceRuntime } from '@pipewright/kit';
import type { RunApplier } from './apply.js';
import type { PlannerConfig } from './config.js';
import { admit } from './core/admit.js';
import { deadlineTimerMsgId } from './core/decide.js';

/**
 * The planner's inputs: run requests and cancellations (PW_RUNS, work queue), and step results and
 * approval decisions (PW_EVENTS, filtered to the types the planner acts on). Each is a durable consumer shared by every
 * planner replica.
 */
export async function startPlannerConsumers(rt: ServiceRuntime, cfg: PlannerConfig, applier: RunApplier): Promise<ConsumerHandle[]> {
  const common = { ackWaitMs: cfg.PW_PLANNER_ACK_WAIT_MS, maxDeliver: cfg.PW_PLANNER_MAX_DELIVER };
  await ensurePullConsumer(rt.jsm, { stream: streams.runs.name, durable: consumers.plannerRuns, filterSubjects: [subjects.runSubmit], ...common });
  await ensurePullConsumer(rt.jsm, { stream: streams.runs.name, durable: `${consumers.plannerRuns}-cancel`, filterSubjects: [subjects.runCancel], ...common });
  // A timer is held back with delayed naks until its deadline: no delivery is ever the last.
  await ensurePullConsumer(rt.jsm, { stream: streams.runs.name, durable: consumers.plannerDeadlines, filterSubjects: [subjects.runDeadline], ackWaitMs: common.ackWaitMs, maxDeliver: -1 });
  await ensurePullConsumer(rt.jsm, {
    stream: streams.events.name,
    durable: consumers.plannerEvents,
    filterSubjects: PLANNER_EVENT_TYPES.map((t) => subjects.runEvent('*', t)),
    ...common,
  });

  const reject = async (runId: string, issues: ValidationIssue[], reason: string) => {
    const event: RunRejected = { schemaVersion: SCHEMA_VERSION, type: 'run.rejected', runId, at: new Date().toISOString(), reason, issues };
    await publishJson(rt.js, subjects.runEvent(runId, 'run.rejected'), event, { msgId: msgIds.event(runId, 'run.rejected', '0') });
    rt.log.warn({ runId, issues }, 'run request rejected');
  };

  const base = { js: rt.js, service: 'planner', log: rt.log, concurrency: cfg.PW_PLANNER_CONCURRENCY, ...common };
  const submit = await startConsumer({
    ...base,
    stream: streams.runs.name,
    durable: consumers.plannerRuns,
    schema: RunRequest,
    spanName: 'pw.runs.submit',
    onInvalid: async ({ raw, seq, issues, reason }) => {
      const claimed = (raw as { runId?: unknown } | undefined)?.runId;
      await reject(RunId.safeParse(claimed).success ? (claimed as string) : `rejected-${seq}`, issues, reason);
    },
    handler: async (request, ctx) => {
      const runId = request.runId ?? derivedRunId(ctx.seq, request);
      ctx.span.setAttribute('pw.run.id', runId);
      const admitted = admit(request);
      if (!admitted.ok) {
        await reject(runId, admitted.issues, 'invalid pipeline or input');
        return { kind: 'reject', reason: `run ${runId} rejected: ${admitted.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}` };
      }
      const tp = currentTraceparent();
      const r = await applier.apply(runId, { type: 'run.submitted', runId, request, ...(tp ? { traceparent: tp } : {}) });
      ctx.log.info({ runId, result: r.kind, ...(r.kind === 'unchanged' ? { reason: r.reason } : {}) }, 'run submitted');
      return ACK;
    },
  });
  const cancel = await startConsumer({
    ...base,
    stream: streams.runs.name,
    durable: `${consumers.plannerRuns}-cancel`,
    schema: CancelRequest,
    spanName: 'pw.runs.cancel',
    handler: async (req, ctx) => {
      const r = await applier.apply(req.runId, { type: 'run.cancel', runId: req.runId, reason: req.reason });
      ctx.log.info({ runId: req.runId, result: r.kind }, 'run cancel handled');
      return ACK;
    },
  });
  const results = await startConsumer({
    ...base,
    stream: streams.events.name,
    durable: consumers.plannerEvents,
    schema: StepEvent,
    spanName: 'pw.events.step',
    handler: async (result, ctx) => {
      ctx.span.setAttributes({ 'pw.run.id': result.runId, 'pw.step.id': result.stepId });
      const r = await applier.apply(result.runId, result);
      if (result.type === 'approval.decided') {
        // A decision that changes nothing (stale, duplicate, run already over) is worth a line: a person acted.
        const facts = { runId: result.runId, stepId: result.stepId, approvalId: result.approvalId, decision: result.decision, by: result.by };
        if (r.kind === 'unchanged') ctx.log.info({ ...facts, reason: r.reason }, 'approval decision ignored');
        else ctx.log.info({ ...facts, status: r.state.status }, 'approval decision applied');
      } else if (r.kind === 'unchanged') ctx.log.debug({ runId: result.runId, stepId: result.stepId, reason: r.reason }, 'step result ignored');
      else ctx.log.info({ runId: result.runId, stepId: result.stepId, type: result.type, status: r.state.status }, 'step result applied');
      return ACK;
    },
  });
  const deadlines = await startConsumer({
    ...base,
    maxDeliver: -1,
    stream: streams.runs.name,
    durable: consumers.plannerDeadlines,
    schema: RunDeadlineTimer,
    spanName: 'pw.runs.deadline',
    handler: (timer, ctx) => onDeadlineTimer(rt, applier, timer, ctx),
  });
  return [submit, cancel, results, deadlines];
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
    if (ctx.deliveryCount < TIMER_DELIVERIES_PER_COPY) return { kind: 'retry', delayMs: Math.min(left + 50, TIMER_HOLD_MS), reason: 'deadline not reached' };
    const generation = Number(ctx.header(TIMER_GENERATION) ?? '0') + 1;
    await publishJson(rt.js, subjects.runDeadline, timer, { msgId: deadlineTimerMsgId(timer.runId, generation), headers: { [TIMER_GENERATION]: String(generation) } });
    return ACK;
  }
  const r = await applier.apply(timer.runId, { type: 'run.deadline', runId: timer.runId });
  ctx.log.info({ runId: timer.runId, result: r.kind, ...(r.kind === 'unchanged' ? { reason: r.reason } : { status: r.state.status }) }, 'run deadline timer fired');
  return ACK;
}
