import type { JetStreamClient } from '@nats-io/jetstream';
import { approvalMsgIds, subjects, type ApprovalDecision, type ApprovalEscalated } from '@pipewright/contracts';
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

  async decided(decision: ApprovalDecision, traceparent: string | undefined): Promise<void> {
    await publishJson(this.js, subjects.runEvent(decision.runId, decision.type), decision, {
      msgId: approvalMsgIds.decided(decision.approvalId),
      context: contextFromTraceparent(traceparent),
      ...(this.signer ? { signer: this.signer } : {}),
    });
  }

  async escalated(event: ApprovalEscalated, traceparent: string | undefined): Promise<void> {
    await publishJson(this.js, subjects.runEvent(event.runId, event.type), event, {
      msgId: approvalMsgIds.escalated(event.approvalId),
      context: contextFromTraceparent(traceparent),
    });
  }
}
