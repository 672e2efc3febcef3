import type { KV } from '@nats-io/kv';
import type { Logger } from '@pipewright/kit';

/**
 * This process's entry in the executors' registry (KV bucket `pw_executors`, key = owner id): the ack
 * subject of every command message it holds, from the moment the message is delivered to it (a message
 * waiting in the consumer's buffer for a free slot included). It is what a peer reads when this process
 * dies, to hand those messages back to the stream at once (a `-NAK` on each ack subject) instead of
 * waiting for AckWait. One key per process, written by this process only, so writes need no
 * compare-and-set.
 *
 * A message is written when it arrives (group commit: messages that arrive while a write is in flight
 * share the next write), and a task's model call waits for that write (`stored`). A settled message is
 * removed lazily, with the next write or the periodic flush: one left in the entry costs at most a
 * `-NAK` that the server ignores.
 *
 * Separately, in memory, the tasks this process is working on: what its liveness ping answers.
 */

export interface RegistryEntry {
  owner: string;
  pool: string;
  startedAt: string;
  /** The ack subject of each held delivery. */
  held: string[];
}

const FLUSH_EVERY_MS = 1_000;

export class HoldRegistry {
  /** Ack subjects of the deliveries held. */
  private readonly held = new Set<string>();
  /** Writes waited on by a delivery (by ack subject): resolve once an entry listing it is stored. */
  private readonly pending = new Map<string, Promise<void>>();
  /** Tasks being worked on, with the deliveries working on each. */
  private readonly working = new Map<string, Set<string>>();
  private dirty = false;
  private inFlight: Promise<void> = Promise.resolve();
  private next: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly startedAt = new Date().toISOString();

  constructor(
    private readonly kv: KV,
    readonly owner: string,
    private readonly pool: string,
    private readonly log: Logger,
  ) {}

  /** Starts the periodic flush of settled messages. */
  start(): void {
    this.timer = setInterval(() => {
      if (this.dirty) this.flush().catch((err: unknown) => this.log.warn({ err }, 'could not update the executor registry; retrying'));
    }, FLUSH_EVERY_MS);
    this.timer.unref();
  }

  /** A message was delivered to this process: list it (the write is started, not awaited). */
  received(ackSubject: string): void {
    if (ackSubject === '') return;
    this.held.add(ackSubject);
    this.dirty = true;
    const write = this.flush();
    this.pending.set(ackSubject, write);
    write.catch(() => undefined);
  }

  /** Resolves once an entry listing the delivery is stored (rejects if that write failed: try again). */
  async stored(ackSubject: string): Promise<void> {
    const p = this.pending.get(ackSubject);
    if (!p) return;
    try {
      await p;
      this.pending.delete(ackSubject);
    } catch {
      // that write failed: the next one lists the delivery too
      this.pending.set(ackSubject, this.flush());
      await this.pending.get(ackSubject);
      this.pending.delete(ackSubject);
    }
  }

  /** The delivery was acknowledged or handed back: it leaves the entry with the next write. */
  settled(ackSubject: string): void {
    this.pending.delete(ackSubject);
    if (this.held.delete(ackSubject)) this.dirty = true;
  }

  /** Whether this process is working on the task (what a liveness ping about it answers). */
  holds(runId: string, task: string): boolean {
    return this.working.has(key(runId, task));
  }

  /** Whether a delivery of this process other than `delivery` is working on the task. */
  holdsElsewhere(runId: string, task: string, delivery: string): boolean {
    const ds = this.working.get(key(runId, task));
    return ds !== undefined && [...ds].some((d) => d !== delivery);
  }

  work(runId: string, task: string, delivery: string): void {
    const k = key(runId, task);
    const ds = this.working.get(k) ?? new Set<string>();
    ds.add(delivery);
    this.working.set(k, ds);
  }

  release(runId: string, task: string, delivery: string): void {
    const k = key(runId, task);
    const ds = this.working.get(k);
    if (!ds) return;
    ds.delete(delivery);
    if (ds.size === 0) this.working.delete(k);
  }

  get size(): number {
    return this.held.size;
  }

  /** Removes this process's entry (a clean shutdown: nothing is left to rescue). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.inFlight.catch(() => undefined);
    await this.kv.purge(this.owner).catch((err: unknown) => this.log.warn({ err }, 'could not remove this executor from the registry'));
  }

  /** A write that includes every change made before this call. */
  private flush(): Promise<void> {
    if (this.next) return this.next;
    const next = this.inFlight
      .catch(() => undefined)
      .then(() => {
        this.next = undefined;
        this.dirty = false;
        const entry: RegistryEntry = { owner: this.owner, pool: this.pool, startedAt: this.startedAt, held: [...this.held] };
        const write = this.kv.put(this.owner, JSON.stringify(entry)).then(
          () => undefined,
          (err: unknown) => {
            this.dirty = true;
            throw err;
          },
        );
        this.inFlight = write;
        return write;
      });
    this.next = next;
    return next;
  }
}

const key = (runId: string, task: string) => `${runId}/${task}`;
