import type { Logger } from 'pino';

/**
 * Shutdown as an explicit state machine (after Temporal's worker): running → draining → stopped.
 * The first SIGTERM/SIGINT starts a graceful drain bounded by `graceMs`; a second signal, or the force
 * deadline (grace + FORCE_EXTRA_MS), exits at once.
 */
export type ShutdownState = 'running' | 'draining' | 'stopped';

const FORCE_EXTRA_MS = 5_000;

export class Shutdown {
  private state_: ShutdownState = 'running';
  private readonly steps: { name: string; run: (graceMs: number) => Promise<void> }[] = [];
  private finished?: Promise<void>;

  constructor(
    private readonly log: Logger,
    private readonly graceMs: number,
  ) {}

  get state(): ShutdownState {
    return this.state_;
  }

  /** Registers a step; steps run in reverse order of registration (last started, first stopped). */
  add(name: string, run: (graceMs: number) => Promise<void>): void {
    this.steps.push({ name, run });
  }

  /** How many steps are registered: a mark that `unwind` returns to. */
  mark(): number {
    return this.steps.length;
  }

  /**
   * Runs, in reverse order, and forgets the steps registered after `mark`: undoes a start-up attempt
   * that failed half-way, so that the next attempt starts clean. Errors are logged, never thrown.
   */
  async unwind(mark: number): Promise<void> {
    for (const step of this.steps.splice(mark).reverse()) {
      try {
        await step.run(this.graceMs);
      } catch (err) {
        this.log.error({ err, step: step.name }, 'undoing a start-up step failed');
      }
    }
  }

  /** Installs SIGTERM/SIGINT handlers that drain and exit the process. */
  installSignalHandlers(): void {
    const onSignal = (signal: NodeJS.Signals) => {
      if (this.state_ !== 'running') {
        this.log.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      this.log.info({ signal, graceMs: this.graceMs }, 'shutting down');
      const force = setTimeout(() => {
        this.log.error('shutdown deadline passed: exiting now');
        process.exit(1);
      }, this.graceMs + FORCE_EXTRA_MS);
      force.unref();
      void this.run().then(() => process.exit(0));
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }

  /** Runs every step once, in reverse order; errors are logged, never stop the sequence. */
  run(): Promise<void> {
    this.finished ??= (async () => {
      this.state_ = 'draining';
      const deadline = Date.now() + this.graceMs;
      for (const step of [...this.steps].reverse()) {
        try {
          await step.run(Math.max(0, deadline - Date.now()));
        } catch (err) {
          this.log.error({ err, step: step.name }, 'shutdown step failed');
        }
      }
      this.state_ = 'stopped';
      this.log.info('stopped');
    })();
    return this.finished;
  }
}
