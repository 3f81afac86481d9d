/**
 * A settle and its request-log row in one commit (issue 23): the row rides with the ledger
 * command (`alongside`) into the event store's group commit, on every path a batch can take
 * (one stream, many streams, the careful path after an id already in the log), so one
 * transaction carries both and a crash leaves both or neither. Proved on the real Postgres by
 * the transaction ids themselves: a row's xmin is the transaction that inserted it, and each
 * event records its own (events.transaction_id).
 */
import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { systemClock } from '../../../src/platform/clock';
import { PostgresEventStore } from '../../../src/platform/event-store/postgres/postgres-event-store';
import { RequestLogRow, requestLogAlongside } from '../../../src/proxy/usage/request-log.repository';
import { LedgerHarness, inAnHour, ledgerHarness, newAccountId } from '../../support/ledger-harness';
import { PrivatePostgres, privateDb, startPrivatePostgres, whyNoPrivatePostgres } from '../../support/private-postgres';
import { FreshDb } from '../../support/fresh-db';

function row(requestId: string, accountId: string, over: Partial<RequestLogRow> = {}): RequestLogRow {
  return {
    requestId, accountId, keyId: randomUUID(), startedAt: new Date(), endpoint: 'openai.chat', model: 'gpt-4o', provider: 'openai',
    channelId: null, stream: false, status: 200, errorCode: null, inputTokens: 10, cachedTokens: 0, cacheWriteTokens: 0, outputTokens: 5,
    estimated: false, freeRequest: false, heldMicros: 100_000n, costMicros: 42n, billing: 'settled', priceVersion: 1,
    unitPrices: { input: '2500000', output: '10000000', marginBps: 0 }, latencyMs: 12, ttfbMs: 3, attempts: 1, ...over,
  };
}

const settle = (holdId: string, amount = 42n) => ({ type: 'SettleHold' as const, data: { holdId, amount, upstreamCost: 0n } });

/** An open account with credit and `holds` open holds; returns their ids. */
async function withHolds(ledger: LedgerService, account: string, holds: number): Promise<string[]> {
  await ledger.execute(account, { type: 'OpenAccount', data: { accountId: account, freeRequests: 0 } });
  await ledger.execute(account, { type: 'PurchaseCredits', data: { paymentId: `pi_${account}`, amount: 100_000_000n } });
  const ids = Array.from({ length: holds }, () => randomUUID());
  await Promise.all(ids.map((holdId) => ledger.execute(account, { type: 'PlaceHold', data: { holdId, amount: 100_000n, expiresAt: inAnHour() } })));
  return ids;
}

/**
 * For each request id: the transaction of its settle (HoldSettled or HoldVoided, as a 32-bit
 * xid, what xmin shows) and of its row, null where there is none.
 */
async function txOf(pool: Pool, requestIds: string[]): Promise<Map<string, { settle: string | null; row: string | null }>> {
  const { rows } = await pool.query<{ id: string; settle: string | null; row: string | null }>(
    `SELECT id,
            (SELECT (e.transaction_id::text::bigint % 4294967296)::text FROM events e
              WHERE e.type IN ('HoldSettled', 'HoldVoided') AND e.data->>'holdId' = id) AS settle,
            (SELECT r.xmin::text FROM request_log r WHERE r.request_id = id) AS row
       FROM unnest($1::text[]) AS id`,
    [requestIds],
  );
  return new Map(rows.map((r) => [r.id, { settle: r.settle, row: r.row }]));
}

describe('a settle and its request-log row in one commit (real Postgres)', () => {
  let h: LedgerHarness;
  beforeAll(async () => {
    h = await ledgerHarness();
  });
  afterAll(() => h.close());

  it('writes the row in the transaction of the settle, and says so', async () => {
    const account = newAccountId();
    const [hold] = await withHolds(h.ledger, account, 1);
    const out = await h.ledger.execute(account, settle(hold), {}, {}, requestLogAlongside(row(hold, account)));
    expect(out.alongsideWritten).toBe(true);
    const tx = (await txOf(h.db.pool, [hold])).get(hold)!;
    expect(tx.settle).not.toBeNull();
    expect(tx.row).toBe(tx.settle);
    const { rows } = await h.db.pool.query('SELECT cost_micros, billing, unit_prices FROM request_log WHERE request_id = $1', [hold]);
    expect(rows).toEqual([{ cost_micros: 42n, billing: 'settled', unit_prices: { input: '2500000', output: '10000000', marginBps: 0 } }]);
  });

  it('many requests of many accounts: every settle with its row, in fewer commits than settles', async () => {
    const accounts = Array.from({ length: 12 }, () => newAccountId());
    const holds = await Promise.all(accounts.map(async (a) => ({ a, ids: await withHolds(h.ledger, a, 5) })));
    const all = holds.flatMap(({ a, ids }) => ids.map((id) => ({ a, id })));
    const outs = await Promise.all(all.map(({ a, id }) => h.ledger.execute(a, settle(id), {}, {}, requestLogAlongside(row(id, a)))));
    expect(outs.every((o) => o.alongsideWritten === true)).toBe(true);
    const tx = await txOf(h.db.pool, all.map((x) => x.id));
    for (const { id } of all) {
      expect(tx.get(id)!.settle).not.toBeNull();
      expect(tx.get(id)!.row).toBe(tx.get(id)!.settle);
    }
    // Group commits: the 60 settles (and their rows) took far fewer transactions, several
    // accounts' in one (each account's lane appends its queued settles as one; the store
    // batches lanes).
    const commits = new Set([...tx.values()].map((t) => t.settle));
    expect(commits.size).toBeLessThan(all.length / 2);
    const accountsPerCommit = new Map<string, Set<string>>();
    for (const { a, id } of all) {
      const c = tx.get(id)!.settle!;
      accountsPerCommit.set(c, (accountsPerCommit.get(c) ?? new Set()).add(a));
    }
    expect(Math.max(...[...accountsPerCommit.values()].map((s) => s.size))).toBeGreaterThan(1);
  });

  it('two instances settling one account at once (appends that may conflict and go again): each row in its settle commit, once', async () => {
    const account = newAccountId();
    const ids = await withHolds(h.ledger, account, 30);
    const other = h.other();
    const outs = await Promise.all(
      ids.map((id, i) => (i % 2 ? other : h.ledger).execute(account, settle(id), {}, {}, requestLogAlongside(row(id, account)))),
    );
    expect(outs.every((o) => o.alongsideWritten === true)).toBe(true);
    const tx = await txOf(h.db.pool, ids);
    for (const id of ids) {
      expect(tx.get(id)!.settle).not.toBeNull();
      expect(tx.get(id)!.row).toBe(tx.get(id)!.settle);
    }
  });

  it('a void carries its row the same way', async () => {
    const account = newAccountId();
    const [hold] = await withHolds(h.ledger, account, 1);
    const out = await h.ledger.execute(account, { type: 'VoidHold', data: { holdId: hold, reason: 'upstream_error' } }, {}, {}, requestLogAlongside(row(hold, account, { billing: 'voided', costMicros: 0n })));
    expect(out.alongsideWritten).toBe(true);
    const tx = (await txOf(h.db.pool, [hold])).get(hold)!;
    expect(tx.row).toBe(tx.settle);
  });

  it('a refused settle writes no row, and a retry of a settle done already says the row was not written with it', async () => {
    const account = newAccountId();
    const [hold] = await withHolds(h.ledger, account, 1);
    await expect(h.ledger.execute(account, settle(hold, 999_999_999n), {}, {}, requestLogAlongside(row(hold, account)))).rejects.toMatchObject({
      code: expect.any(String),
    });
    expect((await txOf(h.db.pool, [hold])).get(hold)).toEqual({ settle: null, row: null });
    await h.ledger.execute(account, settle(hold));
    const retry = await h.ledger.execute(account, settle(hold), {}, {}, requestLogAlongside(row(hold, account)));
    expect(retry).toMatchObject({ idempotent: true });
    expect(retry.alongsideWritten).toBeFalsy(); // the caller records it its own way
    expect((await txOf(h.db.pool, [hold])).get(hold)!.row).toBeNull();
  });

  it('a row Postgres refuses for its data never costs the settle: written without it, and said so', async () => {
    const account = newAccountId();
    const [bad, good] = await withHolds(h.ledger, account, 2);
    const [a, b] = await Promise.all([
      h.ledger.execute(account, settle(bad), {}, {}, requestLogAlongside(row(bad, account, { ttfbMs: 2 ** 40 }))), // past integer
      h.ledger.execute(account, settle(good), {}, {}, requestLogAlongside(row(good, account))),
    ]);
    expect(a.alongsideWritten).toBeFalsy();
    expect(b.events).toHaveLength(1);
    const tx = await txOf(h.db.pool, [bad, good]);
    expect(tx.get(bad)!.settle).not.toBeNull();
    expect(tx.get(bad)!.row).toBeNull();
    expect(tx.get(good)!.settle).not.toBeNull();
    // The good one rode in the same lane append as the bad one, so it too was written without its row; or alone, with it.
    if (!b.alongsideWritten) expect(tx.get(good)!.row).toBeNull();
    else expect(tx.get(good)!.row).toBe(tx.get(good)!.settle);
  });

  describe('the event store on its own', () => {
    let store: PostgresEventStore;
    let mover: PostgresEventStore;
    beforeAll(() => {
      store = new PostgresEventStore(h.db.pool, { concurrency: 1 });
      mover = new PostgresEventStore(h.db.pool);
    });
    afterAll(async () => {
      await store.close();
      await mover.close();
    });
    const ev = () => ({ id: randomUUID(), type: 'Noted', data: { n: 1 } });
    const side = (id: string) => requestLogAlongside(row(id, randomUUID()));

    it('many streams in one batch: a call planned on a moved head brings no row until it is written', async () => {
      const [x, y, z] = [`test-x-${randomUUID()}`, `test-y-${randomUUID()}`, `test-z-${randomUUID()}`];
      await store.append(x, [ev()], { expectedVersion: 'no_stream' }); // the store remembers x at 1
      await mover.append(x, [ev()], { expectedVersion: 1n }); // another writer moves x to 2
      const [rx, ry, rz, rAny] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      const busy = store.append(z, [ev()], { expectedVersion: 'any', alongside: side(rz) }); // takes the one connection
      // Queued behind it: one batch of two streams, x planned at its stale head.
      const stale = store.append(x, [ev()], { expectedVersion: 1n, alongside: side(rx) });
      const other = store.append(y, [ev()], { expectedVersion: 'no_stream', alongside: side(ry) });
      const anyX = store.append(x, [ev()], { expectedVersion: 'any', alongside: side(rAny) });
      await expect(stale).rejects.toMatchObject({ code: 'version_conflict' });
      expect(await other).toMatchObject({ nextVersion: 1n, alongsideWritten: true });
      expect(await busy).toMatchObject({ alongsideWritten: true });
      expect(await anyX).toMatchObject({ nextVersion: 3n, alongsideWritten: true });
      const { rows } = await h.db.pool.query<{ request_id: string; same: boolean }>(
        `SELECT r.request_id, (SELECT bool_and((e.transaction_id::text::bigint % 4294967296)::text = r.xmin::text)
                                 FROM events e WHERE e.stream_id = ANY($2::text[]) AND e.stream_version = $3) AS same
           FROM request_log r WHERE r.request_id = ANY($1::text[]) ORDER BY 1`,
        [[rx, ry, rz, rAny], [x], 3],
      );
      expect(rows.map((r) => r.request_id).sort()).toEqual([ry, rz, rAny].sort()); // none for the refused call
      expect(rows.find((r) => r.request_id === rAny)!.same).toBe(true);
    });

    it('one stream: an append planned on a moved head inserts its rows only when it is written', async () => {
      const x = `test-o-${randomUUID()}`;
      await store.append(x, [ev()], { expectedVersion: 'no_stream' });
      await mover.append(x, [ev()], { expectedVersion: 1n });
      const r = randomUUID();
      expect(await store.append(x, [ev()], { expectedVersion: 'any', alongside: side(r) })).toMatchObject({ nextVersion: 3n, alongsideWritten: true });
      const { rows } = await h.db.pool.query<{ same: boolean }>(
        `SELECT (e.transaction_id::text::bigint % 4294967296)::text = r.xmin::text AS same
           FROM request_log r, events e WHERE r.request_id = $1 AND e.stream_id = $2 AND e.stream_version = 3`,
        [r, x],
      );
      expect(rows).toEqual([{ same: true }]);
    });

    it('the careful path (an event id already in the log) writes the rows of what it writes, retries included', async () => {
      const s = `test-c-${randomUUID()}`;
      const first = ev();
      await store.append(s, [first], { expectedVersion: 'no_stream' });
      const [r1, r2] = [randomUUID(), randomUUID()];
      // A retry of the stored event (its id is taken: the careful path) beside a new one.
      const retry = store.append(s, [first], { expectedVersion: 'any', alongside: side(r1) });
      const fresh = store.append(s, [ev()], { expectedVersion: 'any', alongside: side(r2) });
      expect(await retry).toMatchObject({ idempotent: true, alongsideWritten: true });
      expect(await fresh).toMatchObject({ idempotent: false, alongsideWritten: true });
      const { rows } = await h.db.pool.query('SELECT request_id FROM request_log WHERE request_id = ANY($1::text[])', [[r1, r2]]);
      expect(rows).toHaveLength(2);
    });
  });
});

const skipReason = whyNoPrivatePostgres();
if (skipReason) {
  console.warn(`SKIPPED settle-with-row crash: ${skipReason}`);
  it.skip(`settle and row through a crash — SKIPPED: ${skipReason}`, () => undefined);
} else {
  describe('a settle and its row through a Postgres crash (private cluster, really killed)', () => {
    let pg: PrivatePostgres;
    let db: FreshDb;
    beforeAll(async () => {
      pg = await startPrivatePostgres();
      db = await privateDb(pg);
    });
    afterAll(async () => {
      await db?.drop();
      pg?.destroy();
    });

    it('leaves, for every request, both the settle and its row or neither', async () => {
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const store = new PostgresEventStore(db.pool);
      const ledger = new LedgerService(store, systemClock);
      const accounts = Array.from({ length: 8 }, () => newAccountId());
      const holds = (await Promise.all(accounts.map(async (a) => (await withHolds(ledger, a, 40)).map((id) => ({ a, id }))))).flat();
      // Settles with their rows, a few at a time, while the server is killed under them.
      const answers: Array<'ok' | 'failed'> = [];
      const sending = (async () => {
        for (let i = 0; i < holds.length; i += 8) {
          const wave = holds.slice(i, i + 8);
          const outs = await Promise.allSettled(wave.map(({ a, id }) => ledger.execute(a, settle(id), {}, {}, requestLogAlongside(row(id, a)))));
          for (const o of outs) answers.push(o.status === 'fulfilled' ? 'ok' : 'failed');
        }
      })();
      // Killed once a quarter of the waves are answered (not after a fixed time: on a quick
      // host all 40 waves once finished within 60 ms, and the crash cut nothing).
      while (answers.length < holds.length / 4) await new Promise((r) => setTimeout(r, 1));
      pg.stop();
      await sending;
      await pg.start();
      try {
        expect(answers.filter((a) => a === 'failed').length).toBeGreaterThan(0); // the crash did cut settles off
        const tx = await txOf(db.pool, holds.map((x) => x.id));
        const settled = [...tx.values()].filter((t) => t.settle !== null);
        expect(settled.length).toBeGreaterThan(0);
        for (const t of tx.values()) expect(t.row).toBe(t.settle); // both (same transaction) or neither
      } finally {
        warn.mockRestore();
        await store.close();
      }
    });
  });
}
