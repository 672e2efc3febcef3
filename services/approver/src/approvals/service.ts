import { randomBytes } from 'node:crypto';
import type { ApprovalRequest, ValidationIssue } from '@pipewright/contracts';
import type { Logger } from '@pipewright/kit';
import { planDecision, type Actor, type DecisionInput } from '../core/decide.js';
import { newRecord } from '../core/record.js';
import type { ApproverMetrics } from '../metrics.js';
import type { Notifier, NotifyResult } from '../notify/notifier.js';
import type { ApprovalFilter, ApprovalRecord, ApproverStores, AuditEntry, Versioned } from '../store/types.js';
import type { Background } from './background.js';
import type { ApprovalEvents } from './events.js';

export type DecideResult =
  | { kind: 'decided'; record: ApprovalRecord }
  /** Already decided the same way: a repeated click, answered with the stored decision. */
  | { kind: 'unchanged'; record: ApprovalRecord }
  /** Already decided differently: the first decision stands. */
  | { kind: 'conflict'; record: ApprovalRecord }
  | { kind: 'not_found' }
  | { kind: 'invalid'; issues: ValidationIssue[] };

export interface ApprovalsDeps {
  stores: ApproverStores;
  events: ApprovalEvents;
  notifier: Notifier;
  background: Background;
  log: Logger;
  now?: () => Date;
  metrics?: ApproverMetrics;
}

/** Compare-and-set attempts before giving up; each conflict means another writer just made progress. */
const MAX_CAS_ATTEMPTS = 8;
/** Longer than a notification's delivery deadline: a live claimer has finished by then. */
const NOTIFY_CLAIM_MS = 60_000;
const nonce = () => `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;

/**
 * The approver's operations, shared by every channel: record a request and notify people; decide
 * (first decision wins, by compare-and-set); publish the decision for the planner. The sweeper uses
 * the same publishing path for timeouts.
 */
export class Approvals {
  readonly now: () => Date;

  constructor(private readonly d: ApprovalsDeps) {
    this.now = d.now ?? (() => new Date());
  }

  /** Stores a request (idempotent per approval id) and sends its notifications until they were sent once. */
  async receive(request: ApprovalRequest, traceparent: string | undefined): Promise<'created' | 'exists'> {
    const { record, audit } = newRecord(request, this.now(), traceparent);
    const created = await this.d.stores.approvals.create(record);
    if (created === 'created') await this.d.stores.audit.append(audit);
    const stored = await this.d.stores.approvals.get(request.approvalId);
    if (!stored) throw new Error(`approval ${request.approvalId} vanished after it was stored`);
    if (created === 'exists' && JSON.stringify(stored.value.request) !== JSON.stringify(request))
      this.d.log.warn({ approvalId: request.approvalId }, 'a different request reused an approval id; the first one is kept');
    // A planner that asks again after a lost event gets the decision again (the planner is idempotent).
    if (stored.value.status === 'decided' && stored.value.decision) await this.publish(stored);
    else if (!stored.value.notified && (await this.claimNotifications(request.approvalId))) {
      await this.recordNotifications(request.approvalId, await this.d.notifier.requested(stored.value));
      await this.mutate(request.approvalId, (r) => (r.notified ? undefined : { ...r, notified: true }));
    }
    return created;
  }

  /**
   * Two deliveries of one request (a planner republishing after a crash) may reach two replicas at
   * once: the first to claim sends the notifications. A claim older than NOTIFY_CLAIM_MS belongs to a
   * process that died; the redelivery of its message takes over.
   */
  private async claimNotifications(approvalId: string): Promise<boolean> {
    const now = this.now();
    return this.mutate(approvalId, (r) => {
      if (r.notified || (r.notifyingSince && now.getTime() - Date.parse(r.notifyingSince) < NOTIFY_CLAIM_MS)) return undefined;
      return { ...r, notifyingSince: now.toISOString() };
    });
  }

  async get(approvalId: string): Promise<{ record: ApprovalRecord; audit: AuditEntry[] } | undefined> {
    const v = await this.d.stores.approvals.get(approvalId);
    if (!v) return undefined;
    return { record: v.value, audit: await this.d.stores.audit.list(approvalId) };
  }

  list(filter: ApprovalFilter): Promise<ApprovalRecord[]> {
    return this.d.stores.approvals.list(filter);
  }

  /** Records a person's decision; of concurrent decisions exactly one is stored and published. */
  async decide(approvalId: string, input: DecisionInput, actor: Actor): Promise<DecideResult> {
    for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
      const cur = await this.d.stores.approvals.get(approvalId);
      if (!cur) return { kind: 'not_found' };
      const plan = planDecision(cur.value, input, actor, { now: this.now(), nonce: nonce() });
      if (plan.kind === 'invalid') return plan;
      if (plan.kind === 'already') {
        await this.d.stores.audit.append(plan.audit);
        return { kind: plan.same ? 'unchanged' : 'conflict', record: cur.value };
      }
      const w = await this.d.stores.approvals.update(plan.next, cur.version);
      if (!w.ok) {
        this.d.metrics?.casConflicts.inc({ store: 'approvals' });
        continue; // another writer (a decision, an escalation, a notification mark) got there first
      }
      this.d.metrics?.decided.inc({ decision: plan.decision.decision, channel: actor.channel });
      this.d.log.info({ approvalId, runId: plan.decision.runId, decision: plan.decision.decision, by: actor.name, via: actor.channel }, 'approval decided');
      await Promise.all([this.publish({ value: plan.next, version: w.version }), this.d.stores.audit.append(plan.audit)]);
      return { kind: 'decided', record: plan.next };
    }
    throw new Error(`approval ${approvalId}: gave up after ${MAX_CAS_ATTEMPTS} conflicting writes`);
  }

  /**
   * Publishes a stored decision, then marks it published in the background. A failed publish is
   * logged, not thrown: the decision is durable, and the sweeper publishes it again.
   */
  async publish(stored: Versioned<ApprovalRecord>): Promise<boolean> {
    const r = stored.value;
    if (!r.decision) return false;
    try {
      await this.d.events.decided(r.decision, r.traceparent, r.published ? undefined : r.request.requestedAt);
    } catch (err) {
      this.d.log.warn({ err, approvalId: r.approvalId }, 'decision not published yet; the sweeper retries');
      return false;
    }
    if (!r.published) {
      this.d.background.run('mark published', async () => {
        // The sweeper may publish the same decision concurrently: whoever marks it sends the notices.
        const marked = await this.mutate(r.approvalId, (x) => (x.published ? undefined : { ...x, published: true }));
        if (marked) await this.recordNotifications(r.approvalId, await this.d.notifier.decided(r));
      });
    }
    return true;
  }

  /**
   * Read-modify-write with compare-and-set; `change` returns undefined when nothing needs writing.
   * True when this call wrote.
   */
  async mutate(approvalId: string, change: (r: ApprovalRecord) => ApprovalRecord | undefined): Promise<boolean> {
    for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
      const cur = await this.d.stores.approvals.get(approvalId);
      const next = cur && change(cur.value);
      if (!cur || !next) return false;
      if ((await this.d.stores.approvals.update(next, cur.version)).ok) return true;
    }
    throw new Error(`approval ${approvalId}: gave up after ${MAX_CAS_ATTEMPTS} conflicting writes`);
  }

  async recordNotifications(approvalId: string, results: readonly NotifyResult[]): Promise<void> {
    const at = this.now().toISOString();
    await Promise.all(
      results.map((n) => {
        if (!n.result.ok) this.d.log.warn({ approvalId, channel: n.channel, target: n.target, error: n.result.error }, 'notification failed');
        return this.d.stores.audit.append({
          approvalId,
          entryId: `notify-${nonce()}`,
          at,
          actor: 'approver',
          channel: 'system',
          action: n.result.ok ? 'notified' : 'notify_failed',
          detail: `${n.channel} ${n.target} after ${n.result.attempts} attempt(s)${n.result.ok ? '' : `: ${n.result.error}`}`,
        });
      }),
    );
  }
}
