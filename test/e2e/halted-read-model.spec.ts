/**
 * A read model halted at an event it cannot apply, as operators meet it: the built CLI fails
 * fast naming it (instead of waiting forever), `ledger verify` and `ledger replay` name it and
 * exit 1, and the API's /health reports it. The poison event goes through the event store
 * port, bypassing the domain, which refuses such amounts.
 */
import { randomUUID } from 'node:crypto';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig } from '../../src/config/config';
import { createApiApp } from '../../src/create-api-app';
import { createLogger } from '../../src/platform/logging/logger';
import { PostgresEventStore } from '../../src/platform/event-store/postgres/postgres-event-store';
import { LedgerService } from '../../src/ledger/application/ledger.service';
import { accountStream } from '../../src/ledger/domain/events';
import { systemClock } from '../../src/platform/clock';
import { freshDb, FreshDb } from '../support/fresh-db';
import { CLI, expectOneErrorLine, run } from '../support/cli-runner';

describe('a halted read model (built CLI, booted API, real Postgres)', () => {
  let db: FreshDb;
  let store: PostgresEventStore;
  const account = randomUUID();
  const poisonId = randomUUID();
  const tollgate = (...args: string[]) => run(process.execPath, [CLI, 'ledger', ...args], { DATABASE_URL: db.url });

  beforeAll(async () => {
    db = await freshDb(4);
    store = new PostgresEventStore(db.pool);
    const ledger = new LedgerService(store, systemClock);
    await ledger.execute(account, { type: 'OpenAccount', data: { accountId: account } });
    await ledger.execute(account, { type: 'GrantCredits', data: { grantId: 'g', amount: 3_000_000n, reason: 'promo' } });
    // A grant of 10^20 µcr (past bigint), as a hostile or buggy writer could have appended it.
    await store.append(
      accountStream(account),
      [{ id: poisonId, type: 'CreditsGranted', data: { grantId: 'huge', amount: '100000000000000000000', reason: 'x' }, metadata: { occurredAt: new Date().toISOString() } }],
      { expectedVersion: 'any' },
    );
  }, 120_000);
  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  it('ledger balance fails fast with one line naming the halted model and the event, exit 1', async () => {
    const started = Date.now();
    const r = await tollgate('balance', '--account', account);
    expectOneErrorLine(r, new RegExp(`read model balances is halted at event ${poisonId} \\(.*out of range.*\\)`));
    expect(r.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(60_000); // it used to wait out its 10-minute timeout
    expectOneErrorLine(await tollgate('trial-balance'), /read model account_entries is halted/);
  });

  it('ledger verify names each halted model and exits 1', async () => {
    const r = await tollgate('verify', '--json');
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.ok).toBe(false);
    for (const name of ['account_entries', 'balances', 'transactions']) {
      expect(report.problems).toContainEqual(expect.stringMatching(new RegExp(`^read model ${name} is halted at event ${poisonId}: `)));
    }
  });

  it('ledger replay rebuilds the others, and exits 1 naming the ones halted at the event again', async () => {
    const r = await tollgate('replay', '--json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).halted.map((h: { name: string }) => h.name).sort()).toEqual(['account_entries', 'balances', 'transactions']);
    expectOneErrorLine(r, new RegExp(`read model balances is halted at event ${poisonId}`));
  });

  it('/health answers 200 with status degraded and the halted models (the proxy still serves)', async () => {
    const config = loadConfig({ DATABASE_URL: db.url, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' });
    const app: NestFastifyApplication = await createApiApp(config, createLogger(config, 'api'));
    try {
      await app.listen(config.PORT, config.HOST);
      const res = await fetch(`${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/health`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { status: string; haltedReadModels: Array<{ name: string; eventId: string; error: string }> };
      expect(body.status).toBe('degraded');
      expect(body.haltedReadModels.map((h) => [h.name, h.eventId])).toEqual([
        ['account_entries', poisonId],
        ['balances', poisonId],
        ['transactions', poisonId],
      ]);
      expect(body.haltedReadModels[0].error).toMatch(/out of range for type bigint/);
    } finally {
      await app.close();
    }
  });
});
