/**
 * The settle and the request-log row are written after the answer's last byte, off the
 * client's path, in the ledger's group commit with other requests' writes (issue 23). Shown
 * by holding the account stream's row lock from another connection once the hold is durable:
 * the client (the official SDK) gets its whole answer while the settle is stuck behind the
 * lock, and only then, once the lock goes, are the settle and the row written, each once.
 * With Postgres stopped while the settle waits, the settle goes to the settle journal and
 * lands, once, when Postgres is back. Either way the settle and its row are one commit: the
 * row's xmin is the transaction that wrote the HoldSettled event.
 */
import OpenAI from 'openai';
import { Client } from 'pg';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, receiptCost, startGateway } from '../../support/gateway';
import { PrivatePostgres, whyNoPrivatePostgres } from '../../support/private-postgres';
import { closePrivateGateway, startPrivateGateway } from '../../support/private-gateway';
import { waitFor, within } from '../../support/wait';
import { SettleJournal } from '../../../src/proxy/billing/settle-journal';
import { LedgerService } from '../../../src/ledger/application/ledger.service';

const FUNDS = 10_000_000n;
const WORDS = 8;

interface Streaming {
  requestId: string;
  text: Promise<string>;
}

/** A streamed chat through the official SDK; resolves once its first chunk is in (its hold is durable by then). */
async function startStream(url: string, secret: string): Promise<Streaming> {
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: secret, maxRetries: 0 });
  const { data, response } = await client.chat.completions
    .create({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: `go on [reply:${WORDS}]` }] })
    .withResponse();
  const it = data[Symbol.asyncIterator]();
  const first = await it.next();
  const text = (async () => {
    let out = first.done ? '' : (first.value.choices[0]?.delta?.content ?? '');
    for (let r = await it.next(); !r.done; r = await it.next()) out += r.value.choices[0]?.delta?.content ?? '';
    return out;
  })();
  return { requestId: response.headers.get('x-request-id')!, text };
}

/** Another connection holding the lock on the account stream's head row until release(). */
async function lockAccountStream(url: string, accountId: string): Promise<{ release(): Promise<void>; pid: number }> {
  const client = new Client({ connectionString: url });
  client.on('error', () => undefined); // a test that stops Postgres cuts this connection too
  await client.connect();
  await client.query('BEGIN');
  const { rowCount } = await client.query('SELECT 1 FROM event_streams WHERE stream_id = $1 FOR UPDATE', [`account-${accountId}`]);
  if (rowCount !== 1) throw new Error('the account stream has no head row to lock');
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return {
    pid: rows[0].pid,
    async release() {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end().catch(() => undefined);
    },
  };
}

/** Whether some connection is waiting for the lock `holderPid` holds (the gateway's settle, here). */
async function someoneWaitsOn(pool: { query: Client['query'] }, holderPid: number): Promise<boolean> {
  const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE $1 = ANY (pg_blocking_pids(pid))', [holderPid]);
  return Number(rows[0].n) > 0;
}

async function holdEvents(gw: Gateway, accountId: string, requestId: string): Promise<string[]> {
  const { rows } = await gw.db.pool.query(`SELECT type FROM events WHERE stream_id = $1 AND data->>'holdId' = $2 ORDER BY stream_version`, [
    `account-${accountId}`,
    requestId,
  ]);
  return rows.map((r) => r.type as string);
}

async function logRows(gw: Gateway, requestId: string): Promise<Record<string, unknown>[]> {
  return (await gw.db.pool.query('SELECT * FROM request_log WHERE request_id = $1', [requestId])).rows;
}

/** The row and the settle of a request were written by one transaction (a row's xmin is its inserting transaction). */
async function sameCommit(gw: Gateway, accountId: string, requestId: string): Promise<boolean> {
  const { rows } = await gw.db.pool.query<{ same: boolean }>(
    `SELECT (e.transaction_id::text::bigint % 4294967296)::text = r.xmin::text AS same
       FROM events e, request_log r
      WHERE e.stream_id = $1 AND e.type = 'HoldSettled' AND e.data->>'holdId' = $2 AND r.request_id = $2`,
    [`account-${accountId}`, requestId],
  );
  return rows.length === 1 && rows[0].same;
}

/** Each request settled exactly once and logged exactly once, in one commit, and the account charged what the receipts say. */
async function expectBilledOnce(gw: Gateway, accountId: string, requestIds: string[]): Promise<void> {
  let spent = 0n;
  for (const id of requestIds) {
    expect(await holdEvents(gw, accountId, id)).toEqual(['HoldPlaced', 'HoldSettled']);
    const rows = await logRows(gw, id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ billing: 'settled', status: 200, output_tokens: BigInt(WORDS) });
    expect(BigInt(rows[0].cost_micros as bigint)).toBe(receiptCost(rows[0]));
    expect(await sameCommit(gw, accountId, id)).toBe(true);
    spent += BigInt(rows[0].cost_micros as bigint);
  }
  expect(spent).toBeGreaterThan(0n);
  expect(await gw.available(accountId)).toBe(FUNDS - spent);
}

describe('the settle and the request-log row come after the answer', () => {
  let fake: FakeUpstream;
  let gw: Gateway;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    gw = await startGateway({ openai: fake });
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  it('a streamed answer reaches the client whole while its settle waits; the settle and row land once the lock goes', async () => {
    const accountId = await gw.account(FUNDS);
    const { secret } = await gw.key(accountId);
    fake.script({ kind: 'slow', delayMsPerChunk: 100 });
    const answer = await startStream(gw.url, secret);
    const lock = await lockAccountStream(gw.db.url, accountId);
    try {
      expect((await within(answer.text, 20_000, 'the answer')).split(' ')).toHaveLength(WORDS);
      // The client has everything; the settle is queued behind the lock, and nothing of the end is written.
      await waitFor(() => someoneWaitsOn(gw.db.pool, lock.pid), 10_000, 'the settle to wait on the lock');
      expect(await holdEvents(gw, accountId, answer.requestId)).toEqual(['HoldPlaced']);
      expect(await logRows(gw, answer.requestId)).toHaveLength(0);
    } finally {
      await lock.release();
    }
    await waitFor(async () => (await logRows(gw, answer.requestId)).length === 1, 10_000, 'the request log row');
    await expectBilledOnce(gw, accountId, [answer.requestId]);
  });

  it('a JSON answer reaches the client while its settle waits (the upstream answers after the hold is durable)', async () => {
    const accountId = await gw.account(FUNDS);
    const { secret } = await gw.key(accountId);
    fake.script({ kind: 'delay-headers', ms: 3000 });
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 });
    const pending = client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `go on [reply:${WORDS}]` }] }).withResponse();
    const placed = async () => {
      const { rows } = await gw.db.pool.query(`SELECT count(*) AS n FROM events WHERE stream_id = $1 AND type = 'HoldPlaced'`, [`account-${accountId}`]);
      return Number(rows[0].n) === 1;
    };
    await waitFor(placed, 2500, 'the hold to be durable while the upstream delays');
    const lock = await lockAccountStream(gw.db.url, accountId);
    let requestId: string;
    try {
      const { data, response } = await within(pending, 20_000, 'the answer');
      requestId = response.headers.get('x-request-id')!;
      expect(data.choices[0].message.content?.split(' ')).toHaveLength(WORDS);
      await waitFor(() => someoneWaitsOn(gw.db.pool, lock.pid), 10_000, 'the settle to wait on the lock');
      expect(await holdEvents(gw, accountId, requestId)).toEqual(['HoldPlaced']);
      expect(await logRows(gw, requestId)).toHaveLength(0);
    } finally {
      await lock.release();
    }
    await waitFor(async () => (await logRows(gw, requestId)).length === 1, 10_000, 'the request log row');
    await expectBilledOnce(gw, accountId, [requestId]);
  });

  it('settles that queued behind one commit are written together, in one transaction, each once', async () => {
    const accountId = await gw.account(FUNDS);
    const { secret } = await gw.key(accountId);
    const n = 4;
    fake.script(...Array.from({ length: n }, () => ({ kind: 'slow' as const, delayMsPerChunk: 100 })));
    const answers = await Promise.all(Array.from({ length: n }, () => startStream(gw.url, secret)));
    const lock = await lockAccountStream(gw.db.url, accountId);
    try {
      for (const t of await within(Promise.all(answers.map((a) => a.text)), 20_000, 'the answers')) expect(t.split(' ')).toHaveLength(WORDS);
      await waitFor(() => someoneWaitsOn(gw.db.pool, lock.pid), 10_000, 'a settle to wait on the lock');
    } finally {
      await lock.release();
    }
    const ids = answers.map((a) => a.requestId);
    await waitFor(async () => (await gw.db.pool.query('SELECT 1 FROM request_log WHERE request_id = ANY($1)', [ids])).rowCount === n, 10_000, 'every row');
    await expectBilledOnce(gw, accountId, ids);
    // The first settle took the lane's round that waited on the lock; the others queued meanwhile
    // and were decided together and appended as one: at most two commits for the four settles
    // and their four rows (expectBilledOnce: each row in its settle's commit).
    const { rows } = await gw.db.pool.query(
      `SELECT count(DISTINCT transaction_id) AS n FROM events WHERE stream_id = $1 AND type = 'HoldSettled' AND data->>'holdId' = ANY($2)`,
      [`account-${accountId}`, ids],
    );
    expect(Number(rows[0].n)).toBeLessThanOrEqual(2);
  });

  it('a settle the ledger refuses still leaves its row, written on its own: unbilled, nothing charged', async () => {
    const accountId = await gw.account(FUNDS);
    const { secret } = await gw.key(accountId);
    fake.script({ kind: 'slow', delayMsPerChunk: 100 });
    const answer = await startStream(gw.url, secret);
    // Another hand voids the hold while the answer streams: the settle that follows is refused.
    await gw.app.get(LedgerService).execute(accountId, { type: 'VoidHold', data: { holdId: answer.requestId, reason: 'test' } });
    expect((await within(answer.text, 20_000, 'the answer')).split(' ')).toHaveLength(WORDS);
    await waitFor(async () => (await logRows(gw, answer.requestId)).length === 1, 10_000, 'the request log row');
    expect((await logRows(gw, answer.requestId))[0]).toMatchObject({ billing: 'unbilled', cost_micros: 0n, status: 200 });
    expect(await holdEvents(gw, accountId, answer.requestId)).toEqual(['HoldPlaced', 'HoldVoided']);
    expect(await gw.available(accountId)).toBe(FUNDS);
  });
});

const skipReason = whyNoPrivatePostgres();
if (skipReason) {
  console.warn(`SKIPPED settle-after-answer (Postgres stopped after the answer): ${skipReason}`);
  it.skip(`Postgres stopped after the answer — SKIPPED: ${skipReason}`, () => undefined);
} else {
  describe('Postgres stopped after the answer, its settle not yet written', () => {
    let pg: PrivatePostgres;
    let fake: FakeUpstream;
    let gw: Gateway;

    beforeAll(async () => {
      ({ pg, fake, gw } = await startPrivateGateway());
    });
    afterAll(() => closePrivateGateway({ pg, fake, gw }));

    it('the settle goes to the journal and lands once Postgres is back; the row appears once', async () => {
      const accountId = await gw.account(FUNDS);
      const { secret } = await gw.key(accountId);
      const journal = gw.app.get(SettleJournal);
      fake.script({ kind: 'slow', delayMsPerChunk: 100 });
      const answer = await startStream(gw.url, secret);
      const lock = await lockAccountStream(gw.db.url, accountId);
      let restarted = false;
      try {
        expect((await within(answer.text, 20_000, 'the answer')).split(' ')).toHaveLength(WORDS);
        await waitFor(() => someoneWaitsOn(gw.db.pool, lock.pid), 10_000, 'the settle to wait on the lock');
        // The answer is out and its settle not written: the server goes down under it.
        pg.stop();
        await waitFor(() => journal.size === 1, 10_000, 'the settle to be kept in the journal');
        await pg.start();
        restarted = true;
        await waitFor(() => journal.size === 0, 10_000, 'the kept settle to be written');
      } finally {
        await lock.release();
        if (!restarted) await pg.start();
      }
      await expectBilledOnce(gw, accountId, [answer.requestId]);
    });
  });
}
