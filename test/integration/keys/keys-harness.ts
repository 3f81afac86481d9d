/**
 * Real parts for the keys tests: a fresh migrated database, the Postgres event store, a ledger
 * to open accounts, and Redis under a prefix of this test file's own. Each authenticator made
 * here has its own Redis factory (so its own subscriber connection): another API instance.
 */
import { AccountNames } from '../../../src/compliance/account-names';
import { ErasureHooks } from '../../../src/compliance/erasure/erasure-hooks';
import { PersonalDataVault } from '../../../src/compliance/personal-data-vault';
import { randomBytes, randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { PostgresEventStore } from '../../../src/platform/event-store/postgres/postgres-event-store';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { Clock } from '../../../src/platform/clock';
import { RedisFactory, redisFactory } from '../../../src/platform/redis/redis.module';
import { ApiKeysRepository } from '../../../src/keys/application/api-keys.repository';
import { KeyBroadcaster, KeyBroadcasterOptions, closeConnection } from '../../../src/keys/application/key-broadcaster';
import { KeysService } from '../../../src/keys/application/keys.service';
import { ApiKeyAuthenticator } from '../../../src/keys/application/api-key-authenticator';
import { freshDb, FreshDb } from '../../support/fresh-db';
import { TEST_REDIS_URL } from '../../support/test-env';

export class TestClock implements Clock {
  constructor(public current = new Date()) {}
  now(): Date {
    return this.current;
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

export interface KeysHarness {
  db: FreshDb;
  store: PostgresEventStore;
  repo: ApiKeysRepository;
  clock: TestClock;
  prefix: string;
  redis: Redis;
  keys: KeysService;
  /** Another KeysService (another process running a command), optionally over another Redis URL. */
  service(redisUrl?: string, options?: KeyBroadcasterOptions, random?: (n: number) => Buffer): KeysService;
  /** Another API instance: its own authenticator and subscriber. */
  instance(name?: string, options?: { redisUrl?: string; maxEntries?: number; maxUnknown?: number; repo?: ApiKeysRepository }): ApiKeyAuthenticator;
  openAccount(): Promise<string>;
  /** The holder lookup and name sealing the services use (real vault, this database). */
  names: AccountNames;
  close(): Promise<void>;
}

export async function keysHarness(): Promise<KeysHarness> {
  const db = await freshDb(10);
  const store = new PostgresEventStore(db.pool, { pollMs: 20 });
  const repo = new ApiKeysRepository(db.pool);
  const clock = new TestClock();
  const prefix = `tgtest:keys:${randomBytes(4).toString('hex')}:`;
  const connections: Redis[] = [];
  const authenticators: ApiKeyAuthenticator[] = [];
  // Every connection is recorded so close() can drop those to an unreachable Redis at once
  // (a QUIT would wait in their offline queue).
  const factory = (url = TEST_REDIS_URL): RedisFactory => {
    const f = redisFactory(url, prefix);
    return {
      prefix,
      create(purpose, options) {
        const c = f.create(purpose, { disconnectTimeout: 100, ...options });
        connections.push(c);
        return c;
      },
    };
  };
  const names = new AccountNames(db.pool, new PersonalDataVault(db.pool), new ErasureHooks());
  const service = (url?: string, options?: KeyBroadcasterOptions, random?: (n: number) => Buffer) =>
    new KeysService(store, repo, new KeyBroadcaster(factory(url), options), clock, names, { randomBytes: random });
  const ledger = new LedgerService(store, clock);
  return {
    db,
    store,
    repo,
    clock,
    prefix,
    redis: factory().create('test'),
    keys: service(),
    names,
    service,
    instance(name, options = {}) {
      const a = new ApiKeyAuthenticator(options.repo ?? repo, factory(options.redisUrl), clock, {
        instanceName: name ? `${prefix}${name}` : undefined,
        maxEntries: options.maxEntries,
        maxUnknown: options.maxUnknown,
      });
      authenticators.push(a);
      return a;
    },
    async openAccount() {
      const accountId = randomUUID();
      await ledger.execute(accountId, { type: 'OpenAccount', data: { accountId } });
      return accountId;
    },
    async close() {
      await Promise.all(authenticators.map((a) => a.stop()));
      await Promise.all(connections.map(closeConnection));
      await store.close();
      await db.drop();
    },
  };
}

/** Kills one named Redis connection from the server side, as a network drop would. */
export async function killConnection(redis: Redis, name: string): Promise<void> {
  const list = (await redis.client('LIST')) as string;
  const line = list.split('\n').find((l) => l.includes(` name=${name} `));
  if (!line) throw new Error(`no Redis connection named ${name}`);
  const id = /(?:^|\s)id=(\d+)/.exec(line)![1];
  await redis.client('KILL', 'ID', id);
}

export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
