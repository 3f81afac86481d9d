/**
 * The hold commits while the upstream works (issue 23; DESIGN.md, "A proxied request"): the
 * upstream is asked once the ledger accepts the hold in memory, and no byte of the answer reaches
 * the client before the hold (or free request) is durable. The append is held back for real: the
 * test locks the account stream's row (what an append waits on) from another connection.
 */
import { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway, testRedisPrefix } from '../../support/gateway';
import { CLI, run, spawnBuilt } from '../../support/cli-runner';
import { openaiClient } from '../../support/proxy-formats';
import { rawPost } from '../../support/raw-http';
import { parseSseText } from '../../support/sse-reader';
import { lockAccountStreams, lockWaiters, untilAppendsWait } from '../../support/stream-lock';
import { TEST_REDIS_URL } from '../../support/test-env';
import { freePort, untilHealthy, waitFor } from '../../support/wait';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { PriceBook } from '../../../src/proxy/pricing/price-book.service';
import { worstCaseCost } from '../../../src/proxy/pricing/cost';
import { inputTokenBound } from '../../../src/proxy/metering/input-bound';

const FUNDS = 10_000_000n;
const CHAT = { model: 'gpt-4o-mini', max_tokens: 400, messages: [{ role: 'user' as const, content: 'is the hold durable yet' }] };

/** Polls for `ms` that `check` stays true: nothing arrives that should not (the waits before it made the answer ready). */
async function staysTrue(check: () => boolean, ms: number): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    expect(check()).toBe(true);
    await new Promise((r) => setTimeout(r, 25));
  }
  expect(check()).toBe(true);
}

describe('the hold commits while the upstream works', () => {
  let fake: FakeUpstream;
  let gw: Gateway;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    gw = await startGateway({ openai: fake, anthropic: fake, gemini: fake, env: { ACCOUNT_RPM: '100000' } });
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });
  beforeEach(() => fake.reset());

  /** The worst case the gateway holds for CHAT sent as JSON.stringify (how the OpenAI SDK sends it). */
  function holdFor(body: Record<string, unknown>): bigint {
    const table = gw.app.get(PriceBook).at(new Date());
    const price = table.get(body.model as string)!;
    const bound = inputTokenBound('openai.chat', body, Buffer.byteLength(JSON.stringify(body)), price);
    return worstCaseCost(price, bound, body.max_tokens as number, table.marginBps);
  }

  async function holdEventTypes(accountId: string): Promise<string[]> {
    const { rows } = await gw.db.pool.query(`SELECT type FROM events WHERE stream_id = $1 ORDER BY stream_version`, [`account-${accountId}`]);
    return rows.map((r) => r.type as string).filter((t) => t !== 'AccountOpened' && t !== 'CreditsGranted');
  }

  it('sends no byte (not even headers) before the hold is durable, though the upstream already answered; then relays and charges, in every format', async () => {
    const accounts = await Promise.all([0, 1, 2, 3].map(() => gw.account(FUNDS)));
    const secrets = await Promise.all(accounts.map(async (a) => (await gw.key(a)).secret));
    for (const a of accounts) await gw.app.get(LedgerService).load(a); // cached, as a busy account is

    const lock = await lockAccountStreams(gw.db.pool, accounts);
    let sdkHeaders = false;
    let exchanges: ReturnType<typeof rawPost>[] = [];
    let sdkStream: Promise<string> = Promise.resolve('');
    try {
      exchanges = [
        rawPost(gw.url, '/v1/chat/completions', { authorization: `Bearer ${secrets[0]}` }, CHAT),
        rawPost(gw.url, '/v1/messages', { 'x-api-key': secrets[1], 'anthropic-version': '2023-06-01' }, {
          model: 'claude-haiku-4-5',
          max_tokens: 300,
          stream: true,
          messages: [{ role: 'user', content: 'is it durable' }],
        }),
        rawPost(gw.url, '/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse', { 'x-goog-api-key': secrets[2] }, {
          contents: [{ role: 'user', parts: [{ text: 'is it durable' }] }],
          generationConfig: { maxOutputTokens: 300 },
        }),
      ];
      // And the official SDK, streaming: its promise resolves when the response's headers arrive.
      sdkStream = (async () => {
        const { data } = await openaiClient(gw.url, secrets[3])
          .chat.completions.create({ ...CHAT, stream: true, stream_options: { include_usage: true } })
          .withResponse();
        sdkHeaders = true;
        let text = '';
        for await (const chunk of data) text += chunk.choices[0]?.delta?.content ?? '';
        return text;
      })();

      // The upstream was asked, and answered in full, while every hold waits on the lock.
      const asked = await fake.waitForRequests(4, 10_000);
      await Promise.all(asked.map((r) => fake.settled(r)));
      expect(asked.every((r) => r.status === 200 && !r.aborted)).toBe(true);
      await untilAppendsWait(gw.db.pool, 1);
      for (const a of accounts) expect(await holdEventTypes(a)).toEqual([]); // nothing durable yet
      await staysTrue(() => exchanges.every((e) => e.received() === 0) && !sdkHeaders, 300);
    } finally {
      await lock.release();
    }

    const [openaiJson, anthropicStream, geminiStream] = await Promise.all(exchanges.map((e) => e.answer));
    expect(openaiJson.status).toBe(200);
    expect(JSON.parse(openaiJson.body).choices[0].message.content).toMatch(/\w/);
    expect(anthropicStream.status).toBe(200);
    expect(parseSseText(anthropicStream.body).map((e) => e.data.type)).toContain('message_stop');
    expect(geminiStream.status).toBe(200);
    expect(parseSseText(geminiStream.body).some((e) => e.data.candidates?.[0]?.content?.parts?.[0]?.text)).toBe(true);
    expect(await sdkStream).toMatch(/\w/);

    for (const a of accounts) {
      const [row] = await gw.requests(a, 1);
      expect(row).toMatchObject({ status: 200, billing: 'settled' });
      expect(BigInt(row.cost_micros)).toBeGreaterThan(0n);
      expect(await holdEventTypes(a)).toEqual(['HoldPlaced', 'HoldSettled']);
      expect(await gw.available(a)).toBe(FUNDS - BigInt(row.cost_micros));
    }
  });

  it('money for one of two concurrent requests: the second is not sent upstream, and gets 402 once the first is durable', async () => {
    // A model whose exact tokenizer does not ship: a refused byte bound is final (for an o200k model
    // a tighter bound is tried, which may be decided after the first request settled: metering/precise-bound.ts).
    const chat = { ...CHAT, model: 'claude-haiku-4-5' };
    const accountId = await gw.account((holdFor(chat) * 3n) / 2n);
    const { secret } = await gw.key(accountId);
    await gw.app.get(LedgerService).load(accountId);
    const client = openaiClient(gw.url, secret);

    const lock = await lockAccountStreams(gw.db.pool, [accountId]);
    let outcomes: Promise<string>[] = [];
    try {
      outcomes = [0, 1].map(() =>
        client.chat.completions.create(chat).then(
          () => '200',
          (err: { status?: number; code?: string }) => `${err.status}:${err.code}`,
        ),
      );
      await fake.waitForRequests(1);
      await untilAppendsWait(gw.db.pool, 1);
      // The second is decided on the account with the first's hold ahead of it: not affordable, so
      // it is not sent upstream; its answer waits for the ledger's own decision on a fresh read.
      await staysTrue(() => fake.requests.length === 1, 300);
    } finally {
      await lock.release();
    }
    expect((await Promise.all(outcomes)).sort()).toEqual(['200', '402:insufficient_credits']);
    expect(fake.requests.length).toBe(1);
    const rows = await gw.requests(accountId, 2);
    const refused = rows.find((r) => r.status === 402)!;
    expect(refused).toMatchObject({ error_code: 'insufficient_credits', billing: 'none', cost_micros: 0n });
    const served = rows.find((r) => r.status === 200)!;
    expect(await gw.available(accountId)).toBe((holdFor(chat) * 3n) / 2n - BigInt(served.cost_micros));
  });

  describe('two instances, money (and spending cap) for one request', () => {
    let gated: FakeUpstream;
    let openGate!: () => void;
    let a: Gateway;
    let b: Gateway;
    beforeAll(async () => {
      gated = await startFakeUpstream({ gate: new Promise<void>((resolve) => (openGate = resolve)) });
      a = await startGateway({ db: gw.db, openai: gated });
      b = await startGateway({ db: gw.db, openai: gated });
    });
    afterAll(async () => {
      openGate?.();
      await a?.close();
      await b?.close();
      await gated?.close();
    });

    it('both ask the upstream; the one refused at commit is aborted upstream, gets 402, is charged nothing, and gives its cap share back', async () => {
      const hold = holdFor(CHAT);
      const funds = (hold * 3n) / 2n;
      const accountId = await gw.account(funds);
      // A cap with room for two worst cases: the loser's share must come back for a third request to pass.
      const { secret } = await gw.key(accountId, { spendCapMicros: hold * 2n });
      // Each instance has the account cached with the credit for one hold.
      await a.app.get(LedgerService).load(accountId);
      await b.app.get(LedgerService).load(accountId);

      const lock = await lockAccountStreams(gw.db.pool, [accountId]);
      let outcomes: Promise<string>[] = [];
      try {
        outcomes = [a, b].map((g) =>
          openaiClient(g.url, secret)
            .chat.completions.create(CHAT)
            .then(
              () => '200',
              (err: { status?: number; code?: string }) => `${err.status}:${err.code}`,
            ),
        );
        await gated.waitForRequests(2); // both decided in memory and sent upstream
        await untilAppendsWait(gw.db.pool, 2); // both holds wait on the lock
      } finally {
        await lock.release();
      }
      // One commits; the other's append conflicts, is decided again on the log, and refused: its
      // upstream call is aborted while the provider has not answered yet.
      await waitFor(() => gated.requests.some((r) => r.aborted), 10_000, 'the refused request aborted upstream');
      openGate();
      expect((await Promise.all(outcomes)).sort()).toEqual(['200', '402:insufficient_credits']);
      expect(gated.requests.filter((r) => r.aborted)).toHaveLength(1);

      const rows = await gw.requests(accountId, 2);
      const refused = rows.find((r) => r.status === 402)!;
      const served = rows.find((r) => r.status === 200)!;
      expect(refused).toMatchObject({ error_code: 'insufficient_credits', billing: 'none', cost_micros: 0n });
      expect(refused.channel_id).not.toBeNull(); // it did go upstream
      expect(served).toMatchObject({ billing: 'settled' });
      const { rows: holds } = await gw.db.pool.query(`SELECT type FROM events WHERE stream_id = $1 AND data->>'holdId' = $2`, [
        `account-${accountId}`,
        refused.request_id,
      ]);
      expect(holds).toEqual([]); // no hold, no void: nothing of it in the ledger
      const { state } = await gw.app.get(LedgerService).load(accountId);
      expect(state.held).toBe(0n);
      expect(state.available).toBe(funds - BigInt(served.cost_micros));

      // The cap: the served request's cost is spent, the refused one's share came back.
      await gw.app.get(LedgerService).execute(accountId, { type: 'GrantCredits', data: { grantId: 'more', amount: hold * 2n, reason: 'test' } });
      await a.app.get(LedgerService).load(accountId);
      await expect(openaiClient(a.url, secret).chat.completions.create(CHAT)).resolves.toMatchObject({ object: 'chat.completion' });
    });
  });

  it('free requests are used the same way: upstream asked at once, nothing relayed before the free request is durable', async () => {
    const accountId = await gw.account(0n, 1);
    const { secret } = await gw.key(accountId);
    await gw.app.get(LedgerService).load(accountId);
    const lock = await lockAccountStreams(gw.db.pool, [accountId]);
    let exchange: ReturnType<typeof rawPost> | undefined;
    let second: Promise<string> = Promise.resolve('');
    try {
      exchange = rawPost(gw.url, '/v1/chat/completions', { authorization: `Bearer ${secret}` }, CHAT);
      const [asked] = await fake.waitForRequests(1);
      await fake.settled(asked);
      await untilAppendsWait(gw.db.pool, 1);
      // A second one while the first is in flight: no free request left ahead of it, no credit.
      second = openaiClient(gw.url, secret)
        .chat.completions.create(CHAT)
        .then(
          () => '200',
          (err: { status?: number; code?: string }) => `${err.status}:${err.code}`,
        );
      await staysTrue(() => exchange!.received() === 0 && fake.requests.length === 1, 300);
    } finally {
      await lock.release();
    }
    expect((await exchange.answer).status).toBe(200);
    expect(await second).toBe('402:insufficient_credits');
    expect(fake.requests.length).toBe(1);
    const rows = await gw.requests(accountId, 2);
    expect(rows.map((r) => `${r.status}:${r.billing}`).sort()).toEqual(['200:free', '402:none']);
    const { state } = await gw.app.get(LedgerService).load(accountId);
    expect(state.freeRequests).toBe(0);
    expect(state.available).toBe(0n);
  });

  it('a client that leaves while its hold commits: the hold is voided once durable, nothing charged', async () => {
    const accountId = await gw.account(FUNDS);
    const { secret } = await gw.key(accountId);
    await gw.app.get(LedgerService).load(accountId);
    fake.script({ kind: 'hang' }); // the provider has not answered when the client leaves
    const lock = await lockAccountStreams(gw.db.pool, [accountId]);
    try {
      const exchange = rawPost(gw.url, '/v1/chat/completions', { authorization: `Bearer ${secret}` }, CHAT);
      const [asked] = await fake.waitForRequests(1);
      await untilAppendsWait(gw.db.pool, 1);
      exchange.destroy();
      await fake.settled(asked); // the gateway hung up on the provider when the client left
      expect(asked.aborted).toBe(true);
    } finally {
      await lock.release();
    }
    const [row] = await gw.requests(accountId, 1);
    expect(row).toMatchObject({ status: 499, error_code: 'client_disconnected', billing: 'voided', cost_micros: 0n });
    expect(await holdEventTypes(accountId)).toEqual(['HoldPlaced', 'HoldVoided']);
    expect(await gw.available(accountId)).toBe(FUNDS);
  });

  it('a spending cap is still checked before the upstream is asked', async () => {
    const hold = holdFor(CHAT);
    const accountId = await gw.account(FUNDS);
    const { secret } = await gw.key(accountId, { spendCapMicros: (hold * 3n) / 2n });
    await gw.app.get(LedgerService).load(accountId);
    const client = openaiClient(gw.url, secret);
    const lock = await lockAccountStreams(gw.db.pool, [accountId]);
    let outcomes: Promise<string>[] = [];
    try {
      outcomes = [0, 1].map(() =>
        client.chat.completions.create(CHAT).then(
          () => '200',
          (err: { status?: number; code?: string }) => `${err.status}:${err.code}`,
        ),
      );
      // The cap refuses the second at once, while the first's hold still waits on the lock.
      expect(await Promise.race(outcomes)).toBe('402:spend_cap_reached');
      await fake.waitForRequests(1);
      await untilAppendsWait(gw.db.pool, 1);
      expect(fake.requests.length).toBe(1);
    } finally {
      await lock.release();
    }
    expect((await Promise.all(outcomes)).sort()).toEqual(['200', '402:spend_cap_reached']);
    const rows = await gw.requests(accountId, 2);
    expect(rows.map((r) => `${r.status}:${r.billing}`).sort()).toEqual(['200:settled', '402:none']);
  });

  describe('a gateway killed between the upstream call and the commit', () => {
    const children: ChildProcess[] = [];
    let dataDir: string;
    afterAll(() => {
      for (const c of children) c.kill('SIGKILL');
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    it('charges nothing, leaves no hold, and the ledger verifies and balances', async () => {
      const accountId = await gw.account(FUNDS);
      const { secret } = await gw.key(accountId);
      dataDir = mkdtempSync(join(tmpdir(), 'tollgate-data-'));
      const port = await freePort();
      const api = spawnBuilt('main', {
        ...process.env,
        NODE_ENV: 'test',
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: gw.db.url,
        REDIS_URL: TEST_REDIS_URL,
        REDIS_KEY_PREFIX: testRedisPrefix(),
        OPENAI_API_KEY: fake.apiKey,
        OPENAI_BASE_URL: `${fake.url}/v1`,
        API_RUNS_WORKERS: 'false',
        MIGRATE_ON_START: 'false',
        DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
        EVENTSTORE_URL: '',
      });
      children.push(api);
      await untilHealthy(port);

      const lock = await lockAccountStreams(gw.db.pool, [accountId]);
      try {
        const exchange = rawPost(`http://127.0.0.1:${port}`, '/v1/chat/completions', { authorization: `Bearer ${secret}` }, CHAT);
        const [asked] = await fake.waitForRequests(1);
        await fake.settled(asked);
        await untilAppendsWait(gw.db.pool, 1);
        expect(exchange.received()).toBe(0);
        api.kill('SIGKILL');
        await new Promise((r) => (api.exitCode !== null || api.signalCode !== null ? r(null) : api.once('exit', r)));
        await exchange.answer.catch(() => undefined); // the connection dies with the process
        expect(exchange.received()).toBe(0);
        // Its append's statement, still waiting on the lock, notices its client is gone and ends
        // (it must not commit once the lock goes: a hold nobody will settle or void).
        await waitFor(async () => (await lockWaiters(gw.db.pool)) === 0, 10_000, 'the dead append gone');
      } finally {
        await lock.release();
      }
      expect(await holdEventTypes(accountId)).toEqual([]);
      expect(await gw.available(accountId)).toBe(FUNDS);

      const verify = await run(process.execPath, [CLI, 'ledger', 'verify'], { DATABASE_URL: gw.db.url });
      expect(verify).toMatchObject({ code: 0 });
      const tb = await run(process.execPath, [CLI, 'ledger', 'trial-balance', '--json'], { DATABASE_URL: gw.db.url });
      expect(tb).toMatchObject({ code: 0 });
      expect(JSON.parse(tb.stdout)).toMatchObject({ total: '0.000000', balanced: true });
    });
  });
});
