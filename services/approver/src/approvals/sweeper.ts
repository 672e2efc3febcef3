import type { Logger } from '@pipewright/kit';
import { planTimeout } from '../core/timeout.js';
import type { Notifier } from '../notify/notifier.js';
import type { ApproverStores } from '../store/types.js';
import type { Background } from './background.js';
import type { ApprovalEvents } from './events.js';
import type { Approvals } from './service.js';

/** Records handled per sweep; the rest wait for the next one. */
const SWEEP_BATCH = 200;
/** A decision still unpublished this long after it was made was left behind (a crash, NATS away). */
const REPUBLISH_AFTER_MS = 5_000;

export interface SweepCounts {
  timedOut: number;
  escalated: number;
  republished: number;
}

/**
 * The durable timer: deadlines live in the store, and every replica sweeps them. Each action is a
 * compare-and-set on the version the sweep read, so when two replicas sweep the same approval one
 * wins and the other's write is refused; escalation notices go out from the winner only.
 */
export class Sweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly d: { approvals: Approvals; stores: ApproverStores; events: ApprovalEvents; notifier: Notifier; background: Background; log: Logger },
    private readonly intervalMs: number,
  ) {}

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.sweepOnce()
        .catch((err: unknown) => this.d.log.error({ err }, 'sweep failed'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs);
        });
    };
    this.timer = setTimeout(tick, this.intervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  async sweepOnce(now: Date = this.d.approvals.now()): Promise<SweepCounts> {
    const counts: SweepCounts = { timedOut: 0, escalated: 0, republished: 0 };
    for (const due of await this.d.stores.approvals.due(now, SWEEP_BATCH)) {
      const r = due.value;
      if (r.status === 'decided') {
        // A fresh decision is being published by whoever made it; only a stuck one needs the sweeper.
        const ageMs = now.getTime() - Date.parse(r.decision?.at ?? r.receivedAt);
        if (ageMs >= REPUBLISH_AFTER_MS && (await this.d.approvals.publish(due))) counts.republished++;
        continue;
      }
      const plan = planTimeout(r, now);
      if (plan.kind === 'none') continue;
      const w = await this.d.stores.approvals.update(plan.next, due.version);
      if (!w.ok) continue; // a person decided, or another replica swept it first
      await this.d.stores.audit.append(plan.audit);
      if (plan.kind === 'decide') {
        counts.timedOut++;
        this.d.log.info({ approvalId: r.approvalId, runId: r.request.runId, decision: plan.decision.decision }, 'approval timed out');
        await this.d.approvals.publish({ value: plan.next, version: w.version });
      } else {
        counts.escalated++;
        this.d.log.info({ approvalId: r.approvalId, runId: r.request.runId, to: plan.event.to }, 'approval escalated');
        await this.d.events.escalated(plan.event, r.traceparent).catch((err: unknown) => this.d.log.warn({ err, approvalId: r.approvalId }, 'escalation event not published'));
        // Deliveries retry for a while: off the sweep's path, so other deadlines are not held up.
        const next = plan.next;
        this.d.background.run('escalation notices', async () => this.d.approvals.recordNotifications(r.approvalId, await this.d.notifier.escalated(next)));
      }
    }
    return counts;
  }
}
