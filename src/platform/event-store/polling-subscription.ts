import { EventStore, LOG_START, LogPosition, SubscribeOptions, Subscription } from './event-store.port';

/**
 * A catch-up subscription over readAll: reads in batches from its position, hands each batch
 * to the consumer and waits for it, then reads on. When it reaches the end it sleeps until
 * woken (a commit notification) or the poll interval passes.
 */
export class PollingSubscription implements Subscription {
  private position: LogPosition;
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private waiters: Array<{ target: number; resolve: () => void; reject: (e: Error) => void }> = [];
  private passes = 0; // completed reads that came back short (reached the end of the log)
  private lastError: Error | undefined;

  constructor(
    private readonly store: Pick<EventStore, 'readAll'>,
    private readonly options: SubscribeOptions,
    private readonly pollMs: number,
    private readonly onStop: () => void = () => undefined,
  ) {
    this.position = options.after ?? LOG_START;
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  wake(): void {
    this.wakeUp?.();
  }

  /** Resolves after the subscription has read to the end of the log at least once since the call. */
  caughtUp(): Promise<void> {
    if (!this.running) return Promise.reject(new Error('subscription is stopped'));
    return new Promise((resolve, reject) => {
      this.waiters.push({ target: this.passes + 2, resolve, reject });
      this.wake();
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
    for (const w of this.waiters) w.reject(new Error('subscription stopped'));
    this.waiters = [];
    this.onStop();
  }

  private async run(): Promise<void> {
    const limit = this.options.limit ?? 1000;
    let backoff = this.pollMs;
    while (this.running) {
      try {
        const events = await this.store.readAll({
          after: this.position,
          limit,
          streamPrefixes: this.options.streamPrefixes,
        });
        if (events.length > 0) {
          await this.options.onEvents(events);
          this.position = events[events.length - 1].position;
        }
        this.lastError = undefined;
        backoff = this.pollMs;
        if (events.length < limit) {
          this.passes++;
          this.settleWaiters();
          await this.sleep(this.pollMs);
        }
      } catch (err) {
        this.lastError = err as Error;
        this.options.onError?.(err as Error);
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, 5_000);
      }
    }
  }

  private settleWaiters(): void {
    const ready = this.waiters.filter((w) => this.passes >= w.target);
    this.waiters = this.waiters.filter((w) => this.passes < w.target);
    ready.forEach((w) => w.resolve());
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = undefined;
        done();
      };
    });
  }
}
