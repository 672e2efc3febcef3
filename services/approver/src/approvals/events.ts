import type { JetStreamClient } from '@nats-io/jetstream';
import { approvalMsgIds, subjects, type ApprovalDecision, type ApprovalEscalated } from '@pipewright/contracts';
import { trace, type Context, type Span } from '@opentelemetry/api';
import { contextFromTraceparent, publishJson, type MessageSigner } from '@pipewright/kit';

/**
 * The approver's events on PW_EVENTS, in the trace the request arrived in. Deterministic message ids:
 * a republish (after a crash, or by another replica's sweeper) is dropped by JetStream as a duplicate.
 */
export class ApprovalEvents {
  constructor(
    private readonly js: JetStreamClient,
    /** Signs decisions for the planner to check; undefined publishes them unsigned (see signing-key.ts). */
    private readonly signer: MessageSigner | undefined,
  ) {}

  /**
   * Publishes a decision. With `requestedAt` (its first publish) the wait is a span of the run's trace,
   * `approval <stepId>` from the request to the decision, saying who decided and how; the decision event
   * hangs under it. A human's rejection is an answer, not an error: the span's status stays unset.
   */
  async decided(decision: ApprovalDecision, traceparent: string | undefined, requestedAt?: string): Promise<void> {
    const parent = contextFromTraceparent(traceparent);
    const span = requestedAt === undefined ? undefined : waitSpan(decision, parent, requestedAt);
    try {
      await publishJson(this.js, subjects.runEvent(decision.runId, decision.type), decision, {
        msgId: approvalMsgIds.decided(decision.approvalId),
        context: span ? trace.setSpan(parent, span) : parent,
        ...(this.signer ? { signer: this.signer } : {}),
      });
    } finally {
      span?.end(Date.parse(decision.at));
    }
  }

  async escalated(event: ApprovalEscalated, traceparent: string | undefined): Promise<void> {
    await publishJson(this.js, subjects.runEvent(event.runId, event.type), event, {
      msgId: approvalMsgIds.escalated(event.approvalId),
      context: contextFromTraceparent(traceparent),
    });
  }
}

function waitSpan(decision: ApprovalDecision, parent: Context, requestedAt: string): Span {
  const startMs = Date.parse(requestedAt);
  // the request that decided (an HTTP call to the API or inbox, a Slack action), in a trace of its own
  const decidedIn = trace.getActiveSpan()?.spanContext();
  return trace.getTracer('pipewright.approver').startSpan(
    `approval ${decision.stepId}`,
    {
      startTime: startMs,
      ...(decidedIn !== undefined && trace.isSpanContextValid(decidedIn) ? { links: [{ context: decidedIn, attributes: { 'pw.link.kind': 'decided_by_request' } }] } : {}),
      attributes: {
        'pw.run.id': decision.runId,
        'pw.step.id': decision.stepId,
        'pw.approval.id': decision.approvalId,
        'pw.approval.decision': decision.decision,
        'pw.approval.decided_by': decision.by,
        'pw.approval.via': decision.via,
        'pw.approval.wait_ms': Math.max(0, Date.parse(decision.at) - startMs),
        ...(decision.reason !== undefined ? { 'pw.approval.reason': decision.reason.slice(0, 500) } : {}),
      },
    },
    parent,
  );
}
