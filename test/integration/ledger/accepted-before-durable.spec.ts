/**
 * onAccepted (issue 23): the ledger tells a caller its command is accepted before the command is
 * durable, so the proxy can ask the upstream while the hold commits. The forecast counts every
 * command ahead in the account's lane; it is never the final word (the promise is). Appends are
 * held back for real by locking the stream's row from another connection.
 */
import { randomUUID } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Pool as UndiciPool } from 'undici';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { systemClock } from '../../../src/platform/clock';
import { AppendOptions, NewEvent } from '../../../src/platform/event-store/event-store.port';
import { PostgresEventStore } from '../../../src/platform/event-store/postgres/postgres-event-store';
import { startFakeUpstream } from '../../support/fake-upstream';
import { LedgerHarness, inAnHour, ledgerHarness, newAccountId } from '../../support/ledger-harness';
import { lockAccountStreams, untilAppendsWait } from '../../support/stream-lock';

describe('accepted before durable (real Postgres)', () => {
  let h: LedgerHarness;
  beforeAll(async () => {
    h = await ledgerHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  async function account(ledger: LedgerService, credits: bigint): Promise<string> {
    const id = newAccountId();
    await ledger.execute(id, { type: 'OpenAccount', data: { accountId: id, freeRequests: 0 } });
    if (credits > 0n) await ledger.execute(id, { type: 'GrantCredits', data: { grantId: randomUUID(), amount: credits, reason: 'test' } });
    return id;
  }

  interface Tracked {
    accepted: boolean;
    /** 'pending', 'done', or the refusal's code. */
    settled: string;
    done: Promise<void>;
  }

  function hold(ledger: LedgerService, accountId: string, amount: bigint): Tracked {
    const t: Tracked = { accepted: false, settled: 'pending', done: Promise.resolve() };
    t.done = ledger
      .execute(accountId, { type: 'PlaceHold', data: { holdId: randomUUID(), amount, expiresAt: inAnHour() } }, {}, { onAccepted: () => (t.accepted = true) })
      .then(
        () => void (t.settled = 'done'),
        (err: { code?: string }) => void (t.settled = err.code ?? 'error'),
      );
    return t;
  }

  const holdCount = async (accountId: string) =>
    (await h.db.pool.query(`SELECT count(*)::int AS n FROM events WHERE stream_id = $1 AND type = 'HoldPlaced'`, [`account-${accountId}`])).rows[0].n as number;

  it('accepts in memory while the append waits, and resolves once it is durable', async () => {
    const id = await account(h.ledger, 1_000n);
    const lock = await lockAccountStreams(h.db.pool, [id]);
    let t: Tracked;
    try {
      t = hold(h.ledger, id, 600n);
      expect(t.accepted).toBe(true); // decided on the cached state, synchronously
      await untilAppendsWait(h.db.pool, 1);
      expect(t.settled).toBe('pending');
      expect(await holdCount(id)).toBe(0);
    } finally {
      await lock.release();
    }
    await t.done;
    expect(t.settled).toBe('done');
    expect(await holdCount(id)).toBe(1);
  });

  it('counts the commands ahead in the lane: credit for two holds, a third is not accepted and is refused at commit', async () => {
    const id = await account(h.ledger, 1_000n);
    const lock = await lockAccountStreams(h.db.pool, [id]);
    const ts: Tracked[] = [];
    try {
      for (let i = 0; i < 3; i++) ts.push(hold(h.ledger, id, 500n));
      expect(ts.map((t) => t.accepted)).toEqual([true, true, false]);
      await untilAppendsWait(h.db.pool, 1);
    } finally {
      await lock.release();
    }
    await Promise.all(ts.map((t) => t.done));
    expect(ts.map((t) => t.settled)).toEqual(['done', 'done', 'insufficient_credits']);
    expect(ts[2].accepted).toBe(false);
  });

  it('a credit queued ahead (no hook of its own) counts for the hold behind it', async () => {
    const id = await account(h.ledger, 0n);
    const lock = await lockAccountStreams(h.db.pool, [id]);
    let t: Tracked;
    let grant: Promise<unknown>;
    try {
      grant = h.ledger.execute(id, { type: 'GrantCredits', data: { grantId: randomUUID(), amount: 800n, reason: 'test' } });
      await untilAppendsWait(h.db.pool, 1);
      t = hold(h.ledger, id, 800n);
      expect(t.accepted).toBe(true);
    } finally {
      await lock.release();
    }
    await grant;
    await t.done;
    expect(t.settled).toBe('done');
  });

  it('an instance that has not cached the account is told at its round, still before the append', async () => {
    const id = await account(h.ledger, 1_000n);
    const fresh = h.other(); // another instance: nothing cached
    const lock = await lockAccountStreams(h.db.pool, [id]);
    let t: Tracked;
    try {
      t = hold(fresh, id, 700n);
      expect(t.accepted).toBe(false); // no state in memory yet
      await untilAppendsWait(h.db.pool, 1); // read the stream, decided, appending
      expect(t.accepted).toBe(true);
      expect(t.settled).toBe('pending');
    } finally {
      await lock.release();
    }
    await t.done;
    expect(t.settled).toBe('done');
  });

  it('a forecast on a stale cache is not final either way', async () => {
    const a = h.ledger;
    const b = h.other();
    // Accepted on b's stale state (a spent the credit since), then refused at commit.
    const spent = await account(a, 1_000n);
    await b.load(spent);
    await a.execute(spent, { type: 'PlaceHold', data: { holdId: randomUUID(), amount: 1_000n, expiresAt: inAnHour() } });
    const stale = hold(b, spent, 1_000n);
    expect(stale.accepted).toBe(true);
    await stale.done;
    expect(stale.settled).toBe('insufficient_credits');

    // Not accepted on b's stale state (a granted credit since), then accepted on a fresh read, before the append.
    const granted = await account(a, 0n);
    await b.load(granted);
    await a.execute(granted, { type: 'GrantCredits', data: { grantId: randomUUID(), amount: 1_000n, reason: 'test' } });
    const lock = await lockAccountStreams(h.db.pool, [granted]);
    let late: Tracked;
    try {
      late = hold(b, granted, 1_000n);
      expect(late.accepted).toBe(false);
      await untilAppendsWait(h.db.pool, 1);
      expect(late.accepted).toBe(true);
    } finally {
      await lock.release();
    }
    await late.done;
    expect(late.settled).toBe('done');
  });

  it('an idle lane waits for the turn to end: the caller acts on its acceptance first, and commands issued in one turn share one append', async () => {
    const id = await account(h.ledger, 1_000n);
    const order: string[] = [];
    const held = [1, 2, 3].map(() =>
      h.ledger
        .execute(id, { type: 'PlaceHold', data: { holdId: randomUUID(), amount: 100n, expiresAt: inAnHour() } }, {}, { onAccepted: () => order.push('accepted') })
        .then(() => order.push('durable')),
    );
    // What the caller does once told (the proxy: its upstream request) runs before the round takes the lane's turn.
    await Promise.resolve();
    order.push('caller went on');
    await Promise.all(held);
    expect(order).toEqual(['accepted', 'accepted', 'accepted', 'caller went on', 'durable', 'durable', 'durable']);
    const { rows } = await h.db.pool.query(`SELECT count(DISTINCT transaction_id)::int AS n FROM events WHERE stream_id = $1 AND type = 'HoldPlaced'`, [`account-${id}`]);
    expect(rows[0].n).toBe(1);
  });

  it("what the caller leaves to the next check phase goes first too: undici's request on a kept-alive connection is written before the round's append", async () => {
    // undici writes a request to an idle kept-alive connection only after a setImmediate (it reads
    // what the socket may have received first); the proxy's upstream request is such a request.
    const order: string[] = [];
    // The real store, its appends noted as they are asked for (the round's encoding and hashing come just before).
    class NotedStore extends PostgresEventStore {
      override append(streamId: string, events: NewEvent[], options: AppendOptions) {
        if (events.some((e) => e.type === 'HoldPlaced')) order.push('append');
        return super.append(streamId, events, options);
      }
    }
    const store = new NotedStore(h.db.pool, { pollMs: 20 });
    const ledger = new LedgerService(store, systemClock);
    const upstream = await startFakeUpstream();
    const pool = new UndiciPool(upstream.url, { connections: 1 });
    const written = () => order.push('upstream request written');
    subscribe('undici:client:sendHeaders', written);
    try {
      const id = await account(ledger, 1_000n); // the lane has the account: acceptance is told at once, as in the proxy
      await (await pool.request({ method: 'GET', path: '/v1/models' })).body.dump(); // the connection, kept alive and idle
      order.length = 0;
      let asked!: Promise<unknown>;
      const placed = ledger.execute(id, { type: 'PlaceHold', data: { holdId: randomUUID(), amount: 100n, expiresAt: inAnHour() } }, {}, {
        onAccepted: () => {
          asked = pool.request({ method: 'GET', path: '/v1/models' }).then((r) => r.body.dump());
        },
      });
      await placed;
      await asked;
      expect(order).toEqual(['upstream request written', 'append']);
    } finally {
      unsubscribe('undici:client:sendHeaders', written);
      await pool.close();
      await upstream.close();
      await store.close();
    }
  });

  describe('an unhurried settle on an idle lane waits a moment for the next command to share its commit (joinWindowMs)', () => {
    const txOf = async (accountId: string, type: string, holdId: string) =>
      (
        await h.db.pool.query(`SELECT transaction_id::text AS tx FROM events WHERE stream_id = $1 AND type = $2 AND data->>'holdId' = $3`, [
          `account-${accountId}`,
          type,
          holdId,
        ])
      ).rows.map((r: { tx: string }) => r.tx);
    const placeHold = (ledger: LedgerService, id: string, holdId: string, onAccepted?: () => void) =>
      ledger.execute(id, { type: 'PlaceHold', data: { holdId, amount: 100n, expiresAt: inAnHour() } }, {}, { onAccepted });
    /** A settle as the proxy sends it after an answer: unhurried. */
    const settle = (ledger: LedgerService, id: string, holdId: string, unhurried = true) =>
      ledger.execute(id, { type: 'SettleHold', data: { holdId, amount: 40n } }, {}, { unhurried });
    /** Until the lane's round has ended (an append's promise resolves just before its lane goes idle), as when a settle follows an answer. */
    const idle = () => new Promise((r) => setTimeout(r, 10));

    it('a hold that comes while the settle waits goes in the same commit, and ends the wait at once', async () => {
      // The window is long here so that only the hold's arrival can end it in time.
      const ledger = new LedgerService(h.store, systemClock, { joinWindowMs: 10_000 });
      const id = await account(ledger, 1_000n);
      const first = randomUUID();
      const next = randomUUID();
      await placeHold(ledger, id, first);
      await idle();
      const started = Date.now();
      const settled = settle(ledger, id, first);
      await new Promise((r) => setTimeout(r, 30)); // the client's next request comes a little after the answer
      let accepted = false;
      const placed = placeHold(ledger, id, next, () => (accepted = true));
      expect(accepted).toBe(true); // told at once, on the state with the settle ahead of it
      await Promise.all([settled, placed]);
      expect(Date.now() - started).toBeLessThan(5_000);
      const [settleTx] = await txOf(id, 'HoldSettled', first);
      const [holdTx] = await txOf(id, 'HoldPlaced', next);
      expect(settleTx).toBeDefined();
      expect(holdTx).toBe(settleTx);
    });

    it('a settle alone commits once the window has passed, and another settle meanwhile joins it without ending the wait', async () => {
      const ledger = new LedgerService(h.store, systemClock, { joinWindowMs: 300 });
      const id = await account(ledger, 1_000n);
      const a = randomUUID();
      const b = randomUUID();
      await placeHold(ledger, id, a);
      await placeHold(ledger, id, b);
      await idle();
      const started = Date.now();
      const first = settle(ledger, id, a);
      await new Promise((r) => setTimeout(r, 30));
      const second = settle(ledger, id, b);
      await Promise.all([first, second]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(250); // waited (timers may fire a little early, never 50 ms)
      const [txA] = await txOf(id, 'HoldSettled', a);
      expect(txA).toBeDefined();
      expect(await txOf(id, 'HoldSettled', b)).toEqual([txA]);
    });

    it('a command not marked unhurried never waits (the settle journal replays one after another)', async () => {
      const ledger = new LedgerService(h.store, systemClock, { joinWindowMs: 10_000 });
      const id = await account(ledger, 1_000n);
      const holdId = randomUUID();
      await placeHold(ledger, id, holdId);
      await idle();
      const started = Date.now();
      await settle(ledger, id, holdId, false);
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    it('with the window off (0), a settle and a later hold are two commits, as before', async () => {
      const ledger = new LedgerService(h.store, systemClock, { joinWindowMs: 0 });
      const id = await account(ledger, 1_000n);
      const first = randomUUID();
      const next = randomUUID();
      await placeHold(ledger, id, first);
      await idle();
      const settled = settle(ledger, id, first);
      await new Promise((r) => setTimeout(r, 30));
      await Promise.all([settled, placeHold(ledger, id, next)]);
      const [settleTx] = await txOf(id, 'HoldSettled', first);
      const [holdTx] = await txOf(id, 'HoldPlaced', next);
      expect(holdTx).toBeDefined();
      expect(holdTx).not.toBe(settleTx);
    });
  });
});
