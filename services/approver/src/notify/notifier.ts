import { signWebhook } from '@pipewright/kit';
import type { ApprovalRecord } from '../store/types.js';
import { deliver, postBody, redact, type DeliveryPolicy, type DeliveryResult } from './retry.js';
import { slackApprovalMessage, slackDecidedMessage, slackEscape } from './slack-message.js';

export type WebhookEvent = 'approval.requested' | 'approval.escalated' | 'approval.decided';

export interface NotifyTargets {
  slackWebhookUrl?: string;
  /** Another channel for escalations; the first one is re-notified when unset. */
  slackEscalationWebhookUrl?: string;
  webhook?: { url: string; secret: string };
  /** Base URL of the approver as people reach it, for links. */
  publicUrl?: string;
  jaegerUiUrl?: string;
}

export interface NotifyResult {
  channel: 'slack' | 'webhook';
  /** The target's origin only: webhook URLs hold secrets. */
  target: string;
  result: DeliveryResult;
}

/**
 * Tells people that an approval waits (Slack message with buttons, signed generic webhook), that it
 * was escalated, or decided. Deliveries retry within bounds and never throw: the caller records each
 * outcome in the audit trail, and the inbox still lists the approval if every channel failed.
 */
export class Notifier {
  constructor(
    private readonly t: NotifyTargets,
    private readonly policy: DeliveryPolicy,
  ) {}

  requested(record: ApprovalRecord): Promise<NotifyResult[]> {
    return Promise.all([...(this.t.slackWebhookUrl ? [this.slack(this.t.slackWebhookUrl, record)] : []), ...this.hook('approval.requested', record)]);
  }

  escalated(record: ApprovalRecord): Promise<NotifyResult[]> {
    const slack = this.t.slackEscalationWebhookUrl ?? this.t.slackWebhookUrl;
    return Promise.all([...(slack ? [this.slack(slack, record)] : []), ...this.hook('approval.escalated', record)]);
  }

  decided(record: ApprovalRecord): Promise<NotifyResult[]> {
    return Promise.all(this.hook('approval.decided', record));
  }

  /** Replaces the Slack message a person clicked in with the outcome. */
  async slackRespond(responseUrl: string, record: ApprovalRecord, note?: string): Promise<DeliveryResult> {
    const body = JSON.stringify(slackDecidedMessage(record, note));
    return deliver((signal) => postBody(responseUrl, body, { 'content-type': 'application/json' }, signal), this.policy);
  }

  /** A short reply only the person who clicked sees; the message itself stays. */
  async slackRespondText(responseUrl: string, text: string): Promise<DeliveryResult> {
    const body = JSON.stringify({ response_type: 'ephemeral', replace_original: false, text: slackEscape(text) });
    return deliver((signal) => postBody(responseUrl, body, { 'content-type': 'application/json' }, signal), this.policy);
  }

  inboxUrl(approvalId: string): string | undefined {
    return this.t.publicUrl ? `${this.t.publicUrl.replace(/\/$/, '')}/inbox#${encodeURIComponent(approvalId)}` : undefined;
  }

  traceUrl(traceId: string | undefined): string | undefined {
    return traceId && this.t.jaegerUiUrl ? `${this.t.jaegerUiUrl.replace(/\/$/, '')}/trace/${traceId}` : undefined;
  }

  private async slack(url: string, record: ApprovalRecord): Promise<NotifyResult> {
    const inboxUrl = this.inboxUrl(record.approvalId);
    const traceUrl = this.traceUrl(record.request.traceId);
    const body = JSON.stringify(slackApprovalMessage(record, { ...(inboxUrl ? { inboxUrl } : {}), ...(traceUrl ? { traceUrl } : {}) }));
    const result = await deliver((signal) => postBody(url, body, { 'content-type': 'application/json' }, signal), this.policy);
    return { channel: 'slack', target: redact(url), result };
  }

  private hook(event: WebhookEvent, record: ApprovalRecord): Promise<NotifyResult>[] {
    const w = this.t.webhook;
    if (!w) return [];
    const body = JSON.stringify(webhookPayload(event, record, this.inboxUrl(record.approvalId)));
    const headers = (unix: number) => ({
      'content-type': 'application/json',
      'x-pipewright-event': event,
      // Receivers dedupe on this: a retried delivery carries the same id.
      'x-pipewright-delivery': `${record.approvalId}:${event}`,
      'x-pipewright-signature': signWebhook(w.secret, body, unix),
    });
    // Signed again on every attempt, so a late retry is not refused for an old timestamp.
    const run = deliver((signal) => postBody(w.url, body, headers(Math.floor(Date.now() / 1000)), signal), this.policy);
    return [run.then((result) => ({ channel: 'webhook' as const, target: redact(w.url), result }))];
  }
}

/** The generic webhook's JSON body. */
export function webhookPayload(event: WebhookEvent, record: ApprovalRecord, inboxUrl: string | undefined): Record<string, unknown> {
  const r = record.request;
  return {
    event,
    approvalId: record.approvalId,
    runId: r.runId,
    stepId: r.stepId,
    ...(r.pipeline ? { pipeline: r.pipeline } : {}),
    action: r.action,
    reason: r.reason,
    ...(r.reasoning !== undefined ? { reasoning: r.reasoning } : {}),
    ...(r.confidence !== undefined ? { confidence: r.confidence } : {}),
    ...(r.costSoFarUsd !== undefined ? { costSoFarUsd: r.costSoFarUsd } : {}),
    ...(r.traceId !== undefined ? { traceId: r.traceId } : {}),
    ...(record.deadlineAt ? { deadlineAt: record.deadlineAt } : {}),
    ...(record.escalation ? { escalatedTo: record.escalation.to } : {}),
    ...(record.decision ? { decision: record.decision } : {}),
    ...(inboxUrl ? { inboxUrl } : {}),
    at: new Date().toISOString(),
  };
}
