import type { NatsConnection, Status } from '@nats-io/transport-node';

/**
 * What this process's own NATS connection has been through, for two judgements the ownership code makes:
 *
 * - **May a "gone" answer be believed?** "No responders" on an owner's ping means the server holds no
 *   connection of that owner. After a nats-server restart every process is reconnecting, each at its own
 *   moment, so a live owner can be absent for a while. A process that itself reconnected less than
 *   `graceMs` ago treats "gone" as "no answer yet" and takes nothing over; its first connection does
 *   not count (a fresh executor replacing a killed one must be able to rescue at once).
 * - **Is a lease taken before a drop still mine?** While this process was disconnected, peers may have
 *   seen it gone and taken its tasks over. Work that began before a drop checks its lease before it
 *   pays for a call (`epoch` changes at every drop).
 */
export class ConnectionWatch {
  private drops = 0;
  private reconnectedAt = Number.NEGATIVE_INFINITY;
  private disconnected = false;

  constructor(
    private readonly graceMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Follows the connection's status events until it closes. */
  follow(nc: NatsConnection): void {
    void (async () => {
      for await (const s of nc.status()) this.observe(s);
    })();
  }

  observe(s: Pick<Status, 'type'>): void {
    if (s.type === 'disconnect') {
      this.drops += 1;
      this.disconnected = true;
    } else if (s.type === 'reconnect') {
      this.disconnected = false;
      this.reconnectedAt = this.now();
    }
  }

  /** Changes at every drop of the connection. */
  get epoch(): number {
    return this.drops;
  }

  /** Whether "no responders" can be taken as an owner's death now (see above). */
  trustsAbsence(): boolean {
    return !this.disconnected && this.now() - this.reconnectedAt >= this.graceMs;
  }
}
