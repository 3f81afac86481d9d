import { EventStore, LOG_START, LogPosition, SubscribeOptions, Subscription, comparePositions } from './event-store.port';

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
  private waiters: Array<{ target: LogPosition; resolve: () => void; reject: (e: Error) => void }> = [];

  constructor(
    private readonly store: Pick<EventStore, 'readAll' | 'headPosition'>,
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

  /** Resolves once the consumer has handled every event committed before the call. */
  async caughtUp(): Promise<void> {
    if (!this.running) throw new Error('subscription is stopped');
    const target = await this.store.headPosition(this.options.streamPrefixes);
    if (comparePositions(this.position, target) >= 0) return;
    return new Promise((resolve, reject) => {
      this.waiters.push({ target, resolve, reject });
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
          this.settleWaiters();
        }
        backoff = this.pollMs;
        if (events.length < limit) await this.sleep(this.pollMs);
      } catch (err) {
        this.options.onError?.(err as Error);
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, 5_000);
      }
    }
  }

  private settleWaiters(): void {
    const ready = this.waiters.filter((w) => comparePositions(this.position, w.target) >= 0);
    this.waiters = this.waiters.filter((w) => comparePositions(this.position, w.target) < 0);
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
