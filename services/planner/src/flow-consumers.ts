import { consumers, RunFinished, RunRejected, SignalRequest, streams, ZERO_USAGE } from '@pipewright/contracts';
import { ACK, startConsumer, type ConsumeOptions, type ConsumerHandle } from '@pipewright/kit';
import { z } from 'zod';
import type { RunApplier } from './apply.js';
import { cancelRetryMs, keyOf, recordRun } from './consumer-common.js';
import type { ChildFinished } from './core/events.js';

/** Runs' ends (PW_EVENTS): those of child runs are reported to their parents. */
const RunEnd = z.discriminatedUnion('type', [RunFinished, RunRejected]);

/** What every planner consumer shares (connection, service, logger, concurrency, ack wait, delivery limit). */
type Base = Pick<ConsumeOptions<z.ZodType>, 'js' | 'service' | 'log' | 'concurrency' | 'ackWaitMs' | 'maxDeliver'>;

/**
 * The consumers of `signal` and `pipeline` steps: signals sent to runs (`pw.runs.signal`; one that
 * overtook its run's submission waits for it up to `waitForRunMs`), and the ends of child runs, which
 * their parents learn as `child.finished`. Each is added to `started` once it runs (stopped at shutdown).
 */
export async function startFlowConsumers(applier: RunApplier, base: Base, waitForRunMs: number, started: ConsumerHandle[]): Promise<void> {
  started.push(
    await startConsumer({
      ...base,
      maxDeliver: -1,
      stream: streams.runs.name,
      durable: consumers.plannerSignals,
      schema: SignalRequest,
      spanName: 'pw.runs.signal',
      handler: async (req, ctx) => {
        ctx.span.setAttributes({ 'pw.run.id': req.runId, 'pw.signal.name': req.name });
        const r = await applier.apply(req.runId, { type: 'run.signal', runId: req.runId, request: req }, keyOf(streams.runs.name, ctx));
        recordRun(ctx.span, r);
        const facts = { runId: req.runId, name: req.name, signalId: req.signalId, by: req.by };
        if (r.kind === 'unchanged' && r.noRun) {
          // A signal sent right after its run's submission may be handled first: it waits for the run, a while.
          const waitedMs = Date.now() - ctx.storedAtMs;
          if (waitedMs < waitForRunMs) return { kind: 'wait', delayMs: cancelRetryMs(ctx.deliveryCount), reason: 'the run is not submitted yet; the signal waits for it' };
          ctx.log.warn({ ...facts, waitedMs }, 'signal for a run that does not exist: dropped');
          return ACK;
        }
        ctx.log.info({ ...facts, result: r.kind, ...(r.kind === 'unchanged' ? { reason: r.reason } : r.kind === 'applied' ? { status: r.state.status } : {}) }, 'signal handled');
        return ACK;
      },
    }),
  );
  started.push(
    await startConsumer({
      ...base,
      stream: streams.events.name,
      durable: consumers.plannerChildren,
      schema: RunEnd,
      spanName: 'pw.events.run-end',
      handler: async (ev, ctx) => {
        if (!ev.parent) return ACK;
        ctx.span.setAttributes({ 'pw.run.id': ev.parent.runId, 'pw.step.id': ev.parent.stepId, 'pw.child.run.id': ev.runId });
        const common = { type: 'child.finished' as const, runId: ev.parent.runId, parent: ev.parent, child: ev.runId };
        const event: ChildFinished =
          ev.type === 'run.finished'
            ? { ...common, status: ev.status, ...(ev.output !== undefined ? { output: ev.output } : {}), reason: ev.reason ?? ev.status, usage: ev.usage, costUsd: ev.costUsd }
            : { ...common, status: 'rejected', reason: ev.reason, usage: { ...ZERO_USAGE }, costUsd: 0, issues: ev.issues };
        const r = await applier.apply(ev.parent.runId, event, keyOf(streams.events.name, ctx));
        recordRun(ctx.span, r);
        ctx.log.info({ runId: ev.parent.runId, stepId: ev.parent.stepId, child: ev.runId, childStatus: event.status, result: r.kind, ...(r.kind === 'unchanged' ? { reason: r.reason } : r.kind === 'applied' ? { status: r.state.status } : {}) }, 'child run ended');
        return ACK;
      },
    }),
  );
}
