/**
 * A catch-up subscription on EventStoreDB's own `subscribeToAll`, filtered by stream prefix on
 * the server. Polling readAll instead (as the Postgres adapter does) would make every idle poll
 * of a rarely written prefix scan the whole log after it on the client, since this client's
 * readAll has no server-side filter (see esdb-event-store.ts).
 *
 * Events are taken from the stream's buffer at most `limit` at a time and the next batch waits
 * for the consumer; the buffer is bounded (highWaterMark), so the server is held back too. When
 * the subscription drops or the consumer throws, it resubscribes after the last delivered event.
 */
import {
  AllStreamResolvedEvent,
  AllStreamSubscription,
  EventStoreDBClient,
  START,
  streamNameFilter,
} from '@eventstore/db-client';
import { CatchUpSubscription } from '../catch-up-subscription';
import { comparePositions, LogPosition, RecordedEvent, SubscribeOptions } from '../event-store.port';
import { CLAIM_STREAM_PREFIX, fromEsdbPosition, isStart, isTollgateEvent, toEsdbPosition, toRecorded } from './esdb-records';

/** Without prefixes: every stream but system ($…) and claim streams, still decided on the server. */
const TOLLGATE_STREAMS = `^(?!\\$)(?!${CLAIM_STREAM_PREFIX})`;

export class EsdbSubscription extends CatchUpSubscription {
  private signal: (() => void) | undefined;
  private signalled = false;

  constructor(
    private readonly client: EventStoreDBClient,
    options: SubscribeOptions,
    /** The newest position under the prefixes, not looking below `floor` (already delivered). */
    private readonly headOf: (prefixes: string[] | undefined, floor: LogPosition) => Promise<LogPosition>,
    onStop: () => void,
  ) {
    super(options, onStop);
    this.startLoop();
  }

  protected override head(): Promise<LogPosition> {
    return this.headOf(this.prefixes(), this.position);
  }

  private prefixes(): string[] | undefined {
    return this.options.streamPrefixes?.length ? this.options.streamPrefixes : undefined;
  }

  protected override async run(): Promise<void> {
    const limit = this.options.limit ?? 1000;
    let backoff = 100;
    while (this.running) {
      const prefixes = this.prefixes();
      const sub = this.client.subscribeToAll(
        {
          fromPosition: isStart(this.position) ? START : toEsdbPosition(this.position),
          filter: prefixes ? streamNameFilter({ prefixes }) : streamNameFilter({ regex: TOLLGATE_STREAMS }),
        },
        { highWaterMark: limit },
      );
      let failure: Error | undefined;
      sub.on('readable', () => this.wake());
      sub.on('error', (err: Error) => {
        failure = err;
        this.wake();
      });
      sub.on('end', () => {
        failure ??= new Error('EventStoreDB ended the subscription');
        this.wake();
      });
      try {
        while (this.running && !failure) {
          const batch = this.take(sub, limit);
          if (batch.length === 0) {
            await this.sleep();
            continue;
          }
          await this.options.onEvents(batch);
          this.delivered(batch[batch.length - 1].position);
          backoff = 100;
        }
      } catch (err) {
        failure = err as Error;
      } finally {
        await sub.unsubscribe().catch(() => undefined);
        sub.removeAllListeners();
        sub.on('error', () => undefined); // a late error with no listener would crash the process
      }
      if (failure && this.running) {
        this.options.onError?.(failure);
        this.signalled = false; // a wake-up left over from the dropped subscription
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, 5_000);
      }
    }
  }

  /** What the buffer holds now, up to `limit`, past the last delivered event. */
  private take(sub: AllStreamSubscription, limit: number): RecordedEvent[] {
    const prefixes = this.prefixes();
    const out: RecordedEvent[] = [];
    while (out.length < limit) {
      const resolved = sub.read() as AllStreamResolvedEvent | null;
      if (resolved === null) break;
      const e = resolved.event;
      if (!e) continue;
      const last = out.length > 0 ? out[out.length - 1].position : this.position;
      // The server may start at the checkpoint itself (inclusive) rather than after it.
      if (!isStart(last) && comparePositions(fromEsdbPosition(e.position), last) <= 0) continue;
      if (isTollgateEvent(e, prefixes)) out.push(toRecorded(e));
    }
    return out;
  }

  protected override wake(): void {
    if (this.signal) this.signal();
    else this.signalled = true;
  }

  /** Until woken (data, error, stop) or, when given, `ms` have passed. */
  private sleep(ms?: number): Promise<void> {
    if (this.signalled) {
      this.signalled = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(() => this.signal?.(), ms);
      this.signal = () => {
        this.signal = undefined;
        if (timer) clearTimeout(timer);
        resolve();
      };
    });
  }
}
