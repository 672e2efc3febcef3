import type { NatsConnection } from '@nats-io/transport-node';
import type { ConnectionWatch } from './connection-watch.js';
import { askOwner } from './liveness.js';
import type { OwnerAnswer } from './lease-step.js';

/**
 * A "gone" answer is confirmed once, this long after the first: a process whose NATS connection blipped
 * is briefly without its subscription while it reconnects (the client retries every 250 ms), and it must
 * not lose its tasks for that.
 */
export const GONE_CONFIRM_MS = 750;

/**
 * Asks `owner` and, when the answer is "gone", asks again after GONE_CONFIRM_MS. "Gone" is believed only
 * while this process's own connection has been up long enough (ConnectionWatch.trustsAbsence): just
 * after a nats-server restart, a missing owner is more likely still reconnecting than dead, and the
 * answer is "unresponsive" (take nothing over, look again later).
 */
export async function confirmGone(nc: NatsConnection, watch: ConnectionWatch, owner: string, timeoutMs: number, task?: { runId: string; task: string }): Promise<OwnerAnswer> {
  const first = await askOwner(nc, owner, timeoutMs, task);
  if (first !== 'gone') return first;
  if (!watch.trustsAbsence()) return 'unresponsive';
  await new Promise((resolve) => setTimeout(resolve, GONE_CONFIRM_MS));
  const second = await askOwner(nc, owner, timeoutMs, task);
  return second === 'gone' && !watch.trustsAbsence() ? 'unresponsive' : second;
}
