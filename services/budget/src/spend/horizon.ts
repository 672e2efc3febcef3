import type { JetStreamManager } from '@nats-io/jetstream';
import { streams, subjects } from '@pipewright/contracts';
import { errorMessage, type Logger } from '@pipewright/kit';

/** How often each replica reads the spend consumer's progress. */
export const HORIZON_REFRESH_MS = 5_000;

/**
 * The time up to which every spend event has been booked, read from the spend consumer that all
 * replicas share. Records of the run ledger are pruned by this clock rather than the wall clock
 * (`recordsPruneBefore`): while events wait to be booked — the service or its store was down, for any
 * length of time — the records they will book against stay, so a redelivered event finds its record
 * committed and counts nothing, and a late commit is charged the price its reservation was granted at.
 *
 * With nothing pending and nothing unacknowledged, everything published before the read is booked.
 * Otherwise the oldest event not yet acknowledged lies past the consumer's ack floor, so the first
 * message of the stream after the floor is no newer than it: every event published before that
 * message is booked. A stale reading is an earlier time, so it only keeps records longer; until the
 * first reading nothing is pruned.
 */
export class BookingHorizon {
  private through = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly jsm: JetStreamManager,
    private readonly durable: string,
    private readonly log: Logger,
  ) {}

  /** For `LedgerContext.bookedThrough`. */
  readonly bookedThrough = (): number => this.through;

  /** Reads the consumer's progress now; never moves the horizon back. */
  async refresh(): Promise<void> {
    const asked = Date.now();
    const info = await this.jsm.consumers.info(streams.events.name, this.durable);
    let through = asked;
    if (info.num_pending > 0 || info.num_ack_pending > 0) {
      const next = await this.jsm.direct.getMessage(streams.events.name, { seq: info.ack_floor.stream_seq + 1, next_by_subj: subjects.allEvents });
      // None: the unacknowledged events were removed from the stream meanwhile; read again next time.
      if (!next) return;
      through = next.time.getTime();
    }
    this.through = Math.max(this.through, through);
  }

  /** Reads now, then every `intervalMs` until stopped. A failed reading keeps the last one. */
  async start(intervalMs = HORIZON_REFRESH_MS): Promise<void> {
    const once = () =>
      this.refresh().catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'could not read the spend consumer; ledger records are kept until it answers'));
    await once();
    const schedule = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        this.running = once().finally(() => {
          this.running = undefined;
          schedule();
        });
      }, intervalMs);
    };
    schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
