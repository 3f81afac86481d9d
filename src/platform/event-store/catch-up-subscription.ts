import { LOG_START, LogPosition, SubscribeOptions, Subscription, comparePositions } from './event-store.port';

type Waiter = { target: LogPosition; resolve: () => void; reject: (e: Error) => void };

/**
 * What both catch-up subscriptions share (polling-subscription.ts over readAll for Postgres,
 * esdb/esdb-subscription.ts over EventStoreDB's own subscribeToAll): the position handed to the
 * consumer so far, the callers of caughtUp() waiting for it to reach the head they saw, and
 * stopping (the loop ends first, then whoever still waits is told). How events are fetched and
 * how the loop sleeps stay in each adapter.
 */
export abstract class CatchUpSubscription implements Subscription {
  /** The last event the consumer has handled. */
  protected position: LogPosition;
  protected running = false;
  private loop: Promise<void> | undefined;
  private waiters: Waiter[] = [];

  protected constructor(
    protected readonly options: SubscribeOptions,
    private readonly onStop: () => void,
  ) {
    this.position = options.after ?? LOG_START;
  }

  /** The newest position under the subscription's prefixes: what caughtUp() waits for. */
  protected abstract head(): Promise<LogPosition>;
  /** Fetches and delivers (see delivered()) until `running` is false. */
  protected abstract run(): Promise<void>;
  /** Cuts the loop's sleep short. */
  protected abstract wake(): void;

  /** A caller has started waiting; by default the loop goes on at its own pace. */
  protected waiting(): void {}

  protected startLoop(): void {
    this.running = true;
    this.loop = this.run();
  }

  /** Resolves once the consumer has handled every event committed before the call. */
  async caughtUp(): Promise<void> {
    if (!this.running) throw new Error('subscription is stopped');
    const target = await this.head();
    if (comparePositions(this.position, target) >= 0) return;
    return new Promise((resolve, reject) => {
      this.waiters.push({ target, resolve, reject });
      this.waiting();
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

  /** The consumer has handled everything up to `position`: the callers waiting for it go on. */
  protected delivered(position: LogPosition): void {
    this.position = position;
    const ready = this.waiters.filter((w) => comparePositions(position, w.target) >= 0);
    this.waiters = this.waiters.filter((w) => comparePositions(position, w.target) < 0);
    ready.forEach((w) => w.resolve());
  }
}
