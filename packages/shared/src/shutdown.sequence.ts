import type { Logger } from './logger.factory';

interface Step {
  name: string;
  run: () => Promise<unknown> | unknown;
}

/**
 * One shutdown sequence per process, run in the order the steps were added: stop taking work,
 * let active jobs finish, close connections. Past the deadline the process exits anyway (code 1);
 * a job cut off then keeps its lock until it expires, and BullMQ's stalled check hands it to
 * another worker: it is retried, not lost.
 */
export class Shutdown {
  private readonly steps: Step[] = [];
  private running: Promise<void> | null = null;
  private current: string | null = null;

  constructor(
    private readonly logger: Logger,
    private readonly deadlineMs = 15_000,
  ) {}

  add(name: string, run: Step['run']): this {
    this.steps.push({ name, run });
    return this;
  }

  /** Runs on SIGTERM/SIGINT; a second signal exits at once. */
  installSignalHandlers(): void {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.on(signal, () => {
        if (this.running) {
          this.logger.warn({ signal, step: this.current }, 'second signal: exiting now');
          process.exit(1);
        }
        void this.run(signal).then(() => process.exit(0));
      });
    }
  }

  run(reason: string): Promise<void> {
    this.running ??= this.runSteps(reason);
    return this.running;
  }

  private async runSteps(reason: string): Promise<void> {
    this.logger.info({ reason, deadlineMs: this.deadlineMs }, 'shutting down');
    const timer = setTimeout(() => {
      this.logger.error({ deadlineMs: this.deadlineMs, step: this.current }, 'shutdown deadline passed: exiting');
      process.exit(1);
    }, this.deadlineMs);
    timer.unref();
    for (const step of this.steps) {
      this.current = step.name;
      try {
        await step.run();
        this.logger.debug({ step: step.name }, 'shutdown step done');
      } catch (err) {
        this.logger.warn({ err, step: step.name }, 'shutdown step failed');
      }
    }
    this.current = null;
    clearTimeout(timer);
    this.logger.info('stopped');
  }
}
