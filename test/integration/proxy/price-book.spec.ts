import { Clock } from '../../../src/platform/clock';
import { PostgresEventStore } from '../../../src/platform/event-store/postgres/postgres-event-store';
import { ModelPrice } from '../../../src/proxy/pricing/model-price';
import { PriceBook } from '../../../src/proxy/pricing/price-book.service';
import { SHIPPED_PRICE_TABLE } from '../../../src/proxy/pricing/price-table';
import { PRICES_STREAM } from '../../../src/proxy/pricing/price-table.events';
import { FreshDb, freshDb } from '../../support/fresh-db';

class TestClock implements Clock {
  constructor(private t: number) {}
  now(): Date {
    return new Date(this.t);
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

const tiny = (model: string, input: bigint): ModelPrice => ({
  model,
  provider: 'openai',
  input,
  output: input * 4n,
  cachedInput: input / 2n,
  cacheWrite: input,
  maxOutputTokens: 1_000,
  contextWindow: 8_000,
});

describe('PriceBook (real Postgres)', () => {
  let db: FreshDb;
  const stores: PostgresEventStore[] = [];
  const clock = new TestClock(Date.parse('2025-11-01T00:00:00Z'));
  const book = (at: Clock = clock) => {
    const store = new PostgresEventStore(db.pool, { pollMs: 20 });
    stores.push(store);
    return { store, prices: new PriceBook(store, at) };
  };

  beforeAll(async () => {
    db = await freshDb(10);
  });
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await db.drop();
  });

  it('has no table before the first publish, then seeds the shipped table once, however many instances start', async () => {
    const a = book();
    await a.prices.refresh();
    expect(() => a.prices.at(clock.now())).toThrow(expect.objectContaining({ code: 'no_price_table' }));

    // Instances whose clocks differ a little: each would write a different effectiveAt.
    const skewed = (ms: number) => book(new TestClock(clock.now().getTime() + ms)).prices;
    const versions = await Promise.all([a.prices.seedShipped(750), skewed(1).seedShipped(750), skewed(-1).seedShipped(750)]);
    expect(versions).toEqual([1, 1, 1]);
    expect(await a.store.readStream(PRICES_STREAM)).toHaveLength(1);

    await a.prices.refresh();
    const v1 = a.prices.at(new Date(clock.now().getTime() + 1));
    expect(v1.version).toBe(1);
    expect(v1.marginBps).toBe(750);
    expect(v1.get('claude-sonnet-4-5')?.output).toBe(15_000_000n);
    expect(v1.models()).toHaveLength(SHIPPED_PRICE_TABLE.length);

    clock.advance(60_000);
    expect(await book().prices.seedShipped(750)).toBe(1); // a restart with the same table and margin
    expect(await a.store.readStream(PRICES_STREAM)).toHaveLength(1);
  });

  it('publishes a new shipped table when the margin changes, and keeps the old one for earlier instants', async () => {
    const { prices } = book();
    const before = clock.now();
    clock.advance(1_000);
    expect(await prices.seedShipped(1_000)).toBe(2);
    expect(prices.at(clock.now()).marginBps).toBe(1_000);
    expect(prices.at(before).version).toBe(1);
    expect(prices.version(1)?.marginBps).toBe(750);
    expect(prices.version(2)?.marginBps).toBe(1_000);
  });

  it('publishes an operator table that takes effect at its time, idempotently, and keeps it across restarts', async () => {
    const a = book();
    const b = book();
    await b.prices.refresh();
    const effectiveAt = new Date(clock.now().getTime() + 3_600_000);
    const models = [tiny('house-model', 1_000_000n), tiny('gpt-4o', 2_000_000n)];

    expect(await a.prices.publish(models, { effectiveAt, marginBps: 500 })).toBe(3);
    expect(await a.prices.publish([...models].reverse(), { effectiveAt: effectiveAt.toISOString(), marginBps: 500 })).toBe(3);
    expect(await b.prices.publish(models, { effectiveAt, marginBps: 500 })).toBe(3);
    expect(await a.store.readStream(PRICES_STREAM)).toHaveLength(3);

    // Published, but not yet in force.
    const now = a.prices.at(clock.now());
    expect(now.version).toBe(2);
    expect(now.get('house-model')).toBeUndefined();
    const later = a.prices.at(effectiveAt);
    expect(later.version).toBe(3);
    expect(later.get('gpt-4o')?.input).toBe(2_000_000n);
    expect(later.get('claude-sonnet-4-5')).toBeUndefined();
    // The view a request took keeps its prices whatever is published after.
    expect(now.get('gpt-4o')?.input).toBe(2_500_000n);

    // A restart with the unchanged shipped table and margin leaves the operator's table in force.
    expect(await book().prices.seedShipped(1_000)).toBe(2);
    expect(a.prices.at(effectiveAt).version).toBe(3);
  });

  it('learns of tables other instances publish on refresh', async () => {
    const a = book();
    const b = book();
    await a.prices.refresh();
    expect(a.prices.latest()?.version).toBe(3);
    clock.advance(1_000);
    const version = await b.prices.publish([tiny('gpt-4o', 3_000_000n)], { effectiveAt: clock.now(), marginBps: 0 });
    expect(version).toBe(4);
    expect(a.prices.at(clock.now()).version).toBe(2); // not read yet
    await a.prices.refresh();
    expect(a.prices.at(clock.now()).version).toBe(4);
    expect(a.prices.at(clock.now()).get('gpt-4o')?.input).toBe(3_000_000n);
  });

  it('serialises concurrent publishes of different tables into consecutive versions', async () => {
    const instances = [book(), book(), book()];
    await Promise.all(instances.map((i) => i.prices.refresh()));
    clock.advance(1_000);
    const versions = await Promise.all(
      instances.map((i, n) => i.prices.publish([tiny(`race-${n}`, 1_000n)], { effectiveAt: clock.now(), marginBps: 0 })),
    );
    expect([...versions].sort()).toEqual([5, 6, 7]);
    const events = await instances[0].store.readStream(PRICES_STREAM);
    expect(events.map((e) => e.data.version)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    // Same effectiveAt: the later version wins.
    await instances[0].prices.refresh();
    expect(instances[0].prices.at(clock.now()).version).toBe(7);
  });

  it('refuses an invalid table before writing anything', async () => {
    const { prices, store } = book();
    await expect(prices.publish([tiny('x', -1n)], { effectiveAt: clock.now(), marginBps: 0 })).rejects.toMatchObject({ code: 'invalid_price_table' });
    await expect(prices.publish([tiny('x', 1n)], { effectiveAt: clock.now(), marginBps: -5 })).rejects.toMatchObject({ code: 'invalid_margin' });
    expect(await store.streamVersion(PRICES_STREAM)).toBe(7n);
  });
});
