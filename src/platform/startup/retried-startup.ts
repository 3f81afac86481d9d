/**
 * A start-up step that needs the database (seed channels, the price table) must not keep the
 * API from starting when the database is down: the process comes up, /health says 503, and the
 * step is retried in the background until it succeeds.
 */
import { Logger } from '@nestjs/common';

export class RetriedStartup {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly log: Logger,
    private readonly what: string,
    private readonly step: () => Promise<unknown>,
    private readonly everyMs = 5_000,
  ) {}

  /** Runs the step once; on failure says so and keeps retrying without blocking the caller. */
  async start(): Promise<void> {
    if (await this.attempt()) return;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.attempt().then((done) => {
        if (!done) this.schedule();
        else this.log.log(`${this.what}: done on retry`);
      });
    }, this.everyMs);
    this.timer.unref();
  }

  private async attempt(): Promise<boolean> {
    try {
      await this.step();
      return true;
    } catch (err) {
      this.log.warn(`${this.what} failed (${(err as Error).message}); retrying every ${this.everyMs / 1000} s`);
      return false;
    }
  }
}
