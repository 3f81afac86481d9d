/**
 * Every published price table, in memory, from the `prices` stream: a request asks `at(now)`
 * once and prices with that version from hold to settle, with no query on the request path.
 *
 * Tables published elsewhere (another instance, the CLI) are read by `refresh()`, which runs at
 * start and every PRICE_REFRESH_INTERVAL_MS after. So that every instance switches at the same
 * instant, publish a new table with an effectiveAt at least that far in the future.
 */
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { CLOCK, Clock } from '../../platform/clock';
import { EVENT_STORE, EventStore, RecordedEvent } from '../../platform/event-store/event-store.port';
import { DecideAndAppend, Decision, decideAndAppend } from '../../platform/event-store/decide-and-append';
import { deterministicId } from '../../shared/ids';
import { ModelPrice } from './model-price';
import { SHIPPED_PRICE_TABLE } from './price-table';
import {
  PRICES_STREAM,
  PRICE_TABLE_PUBLISHED,
  PriceTableContent,
  PriceTableSource,
  PublishedPriceTable,
  decodePriceTable,
  encodePriceTable,
  normalizeContent,
  priceTableHash,
  priceTableId,
  sameCharges,
} from './price-table.events';
import { PriceTableVersion } from './price-table-version';
import { PricingError } from './pricing.errors';

export const PRICE_REFRESH_INTERVAL_MS = 30_000;
const MAX_ATTEMPTS = 5;

export interface PublishOptions {
  effectiveAt: Date | string;
  marginBps: number;
  source?: PriceTableSource; // default 'operator'
}

interface Loaded {
  table: PublishedPriceTable;
  view: PriceTableVersion;
  effectiveMs: number;
}

@Injectable()
export class PriceBook implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('PriceBook');
  private byVersion: (Loaded | undefined)[] = []; // index = version - 1; a hole for an unreadable event
  private byEffective: Loaded[] = []; // by (effectiveAt, version)
  private known = 0; // the last stream version read
  private tail: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.start();
  }

  async start(): Promise<void> {
    if (this.timer) return;
    // Not fatal: the API starts with the database down (and answers 503 until a table is known).
    await this.refresh().catch((err: Error) => this.log.warn(`no price table yet (${err.message}); retrying every ${PRICE_REFRESH_INTERVAL_MS / 1000} s`));
    this.timer = setInterval(() => {
      this.refresh().catch((err: Error) => this.log.warn(`price table refresh failed, pricing with version ${this.known}: ${err.message}`));
    }, PRICE_REFRESH_INTERVAL_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The table in force at an instant: the latest effectiveAt ≤ instant (the later version on a tie). */
  at(instant: Date): PriceTableVersion {
    const t = instant.getTime();
    for (let i = this.byEffective.length - 1; i >= 0; i--) {
      if (this.byEffective[i].effectiveMs <= t) return this.byEffective[i].view;
    }
    throw new PricingError('no_price_table', `no price table is in force at ${instant.toISOString()}`);
  }

  /** When the next table already published takes effect after an instant (null: none is scheduled). */
  nextChangeAfter(instant: Date): Date | null {
    const t = instant.getTime();
    const next = this.byEffective.find((l) => l.effectiveMs > t);
    return next ? new Date(next.effectiveMs) : null;
  }

  /** A version by its number, for receipts of past requests. */
  version(version: number): PriceTableVersion | undefined {
    return this.byVersion[version - 1]?.view;
  }

  /** The most recently published table (whenever it takes effect), if any. */
  latest(): PublishedPriceTable | undefined {
    return this.newest(() => true);
  }

  private newest(test: (t: PublishedPriceTable) => boolean): PublishedPriceTable | undefined {
    for (let i = this.byVersion.length - 1; i >= 0; i--) {
      const table = this.byVersion[i]?.table;
      if (table && test(table)) return table;
    }
    return undefined;
  }

  /** Reads the tables published since the last version this instance knows. Calls run one after another. */
  refresh(): Promise<void> {
    const run = this.tail.then(() => this.load());
    this.tail = run.catch(() => undefined);
    return run;
  }

  /**
   * Publishes a table; returns its version. The same content published again is the same version.
   * (async: an invalid table is a rejection, like every other refusal, not a synchronous throw.)
   */
  async publish(models: readonly ModelPrice[], options: PublishOptions): Promise<number> {
    const effectiveAt = options.effectiveAt instanceof Date ? options.effectiveAt.toISOString() : options.effectiveAt;
    const content = normalizeContent({ effectiveAt, marginBps: options.marginBps, models: [...models], source: options.source ?? 'operator' });
    const id = priceTableId(content);
    return this.append<RecordedEvent | null>({
      load: async () => {
        const existing = await this.store.getEvent(id);
        await this.refresh(); // after the look: a table found is in this book when publish returns
        return { state: existing, version: BigInt(this.known) };
      },
      decide: ({ state: existing, version }) =>
        existing && existing.streamId === PRICES_STREAM
          ? { answer: decodePriceTable(existing.data).version }
          : this.appendTable(id, content, version),
      gaveUp: (err) => new PricingError('price_table_conflict', `could not publish the price table after ${err.attempts} attempts`),
    });
  }

  /**
   * Publishes this release's table (with the configured margin) unless the last table it
   * published charges the same. Tables published by an operator since stay in force until the
   * shipped table or the margin changes. Safe to run on many instances at once: all of them
   * race for the same event id, one wins and the others find its table on their next read.
   */
  async seedShipped(marginBps: number, models: readonly ModelPrice[] = SHIPPED_PRICE_TABLE): Promise<number> {
    return this.append<PublishedPriceTable | undefined>({
      load: async () => {
        await this.refresh();
        return { state: this.newest((t) => t.source === 'shipped'), version: BigInt(this.known) };
      },
      decide: ({ state: shipped, version }) => {
        if (shipped && sameCharges(shipped, { models: [...models], marginBps })) return { answer: shipped.version };
        const content: PriceTableContent = normalizeContent({
          effectiveAt: this.clock.now().toISOString(),
          marginBps,
          models: [...models],
          source: 'shipped',
        });
        // Not priceTableId: effectiveAt differs per instance, the table and its place in the stream do not.
        const charges = priceTableHash({ ...content, effectiveAt: new Date(0).toISOString() });
        return this.appendTable(deterministicId(`price-table-seed:${version}:${charges}`), content, version);
      },
      gaveUp: (err) => new PricingError('price_table_conflict', `could not seed the shipped price table after ${err.attempts} attempts`),
    });
  }

  /**
   * Load → decide → append on the prices stream. An id taken means another writer published the
   * same table meanwhile: read the stream and decide again (it is found there).
   */
  private append<S>(run: Pick<DecideAndAppend<S, number>, 'load' | 'decide' | 'gaveUp'>): Promise<number> {
    return decideAndAppend({ ...run, store: this.store, stream: PRICES_STREAM, maxAttempts: MAX_ATTEMPTS, onIdConflict: 'retry' });
  }

  /** The table as the stream's next event, at the version after `expected`. */
  private appendTable(id: string, content: PriceTableContent, expected: bigint): Decision<number> {
    const version = Number(expected) + 1;
    return {
      append: [{ id, type: PRICE_TABLE_PUBLISHED, data: encodePriceTable({ version, ...content }), metadata: {} }],
      appended: async () => {
        await this.refresh();
        return version;
      },
    };
  }

  private async load(): Promise<void> {
    const events = await this.store.readStream(PRICES_STREAM, { afterVersion: BigInt(this.known) });
    if (events.length === 0) return;
    for (const e of events) {
      this.known = Number(e.streamVersion);
      if (e.type !== PRICE_TABLE_PUBLISHED) continue;
      let table: PublishedPriceTable;
      try {
        table = decodePriceTable(e.data);
        if (table.version !== this.known) throw new Error(`it says version ${table.version}`);
      } catch (err) {
        // Events cannot be edited: a bad one is passed over, and said so, rather than stopping all pricing.
        this.log.error(`price table at version ${this.known} of ${PRICES_STREAM} is unreadable and ignored: ${(err as Error).message}`);
        continue;
      }
      this.byVersion[table.version - 1] = { table, view: new PriceTableVersion(table), effectiveMs: Date.parse(table.effectiveAt) };
    }
    this.byEffective = this.byVersion
      .filter((l): l is Loaded => l !== undefined)
      .sort((a, b) => a.effectiveMs - b.effectiveMs || a.table.version - b.table.version);
  }
}
