import type { Logger } from '@pipewright/kit';

/**
 * Work that finishes after a reply was sent (marking an event published, follow-up notifications).
 * Tracked so that shutdown waits for it, within its grace.
 */
export class Background {
  private readonly tasks = new Set<Promise<void>>();

  constructor(private readonly log: Logger) {}

  run(what: string, task: () => Promise<unknown>): void {
    const p: Promise<void> = task()
      .then(() => undefined)
      .catch((err: unknown) => this.log.error({ err, what }, 'background task failed'))
      .finally(() => this.tasks.delete(p));
    this.tasks.add(p);
  }

  get size(): number {
    return this.tasks.size;
  }

  /** Waits for the running tasks, at most `graceMs`. */
  async drain(graceMs: number): Promise<void> {
    const timer = new Promise<void>((r) => setTimeout(r, graceMs).unref());
    await Promise.race([Promise.allSettled([...this.tasks]), timer]);
  }
}
