import { CatchUpSubscription } from './catch-up-subscription';
import { EventStore, LogPosition, SubscribeOptions } from './event-store.port';

/**
 * A catch-up subscription over readAll: reads in batches from its position, hands each batch
 * to the consumer and waits for it, then reads on. When it reaches the end it sleeps until
 * woken (a commit notification) or the poll interval passes.
 */
export class PollingSubscription extends CatchUpSubscription {
  private wakeUp: (() => void) | undefined;

  constructor(
    private readonly store: Pick<EventStore, 'readAll' | 'headPosition'>,
    options: SubscribeOptions,
    private readonly pollMs: number,
    onStop: () => void = () => undefined,
  ) {
    super(options, onStop);
  }

  start(): void {
    this.startLoop();
  }

  /** Reads now rather than at the next poll (a commit was notified, or the subscription stops). */
  override wake(): void {
    this.wakeUp?.();
  }

  protected override head(): Promise<LogPosition> {
    return this.store.headPosition(this.options.streamPrefixes);
  }

  /** A caller of caughtUp() should not wait out a poll interval. */
  protected override waiting(): void {
    this.wake();
  }

  protected override async run(): Promise<void> {
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
          this.delivered(events[events.length - 1].position);
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
