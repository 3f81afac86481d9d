import { randomUUID } from 'node:crypto';
import { PostgresEventStore } from '../../src/platform/event-store/postgres/postgres-event-store';
import { Clock, systemClock } from '../../src/platform/clock';
import { LedgerService } from '../../src/ledger/application/ledger.service';
import { freshDb, FreshDb } from './fresh-db';

export interface LedgerHarness {
  db: FreshDb;
  store: PostgresEventStore;
  ledger: LedgerService;
  /** A second, independent service over its own store connection: another API instance. */
  other(): LedgerService;
  close(): Promise<void>;
}

export async function ledgerHarness(clock: Clock = systemClock): Promise<LedgerHarness> {
  const db = await freshDb(20);
  const store = new PostgresEventStore(db.pool, { pollMs: 20 });
  const stores = [store];
  return {
    db,
    store,
    ledger: new LedgerService(store, clock),
    other() {
      const s = new PostgresEventStore(db.pool, { pollMs: 20 });
      stores.push(s);
      return new LedgerService(s, clock);
    },
    async close() {
      await Promise.all(stores.map((s) => s.close()));
      await db.drop();
    },
  };
}

export const newAccountId = () => randomUUID();
export const inAnHour = (from = new Date()) => new Date(from.getTime() + 3_600_000).toISOString();
