/**
 * USDC/USDT payment intents through the booted app (issue 20), on the machine's Postgres and
 * Redis: the exact amount (asked + a unique offset of at most 0.01), validation that names the
 * field, chains and tokens that are not offered, 50 concurrent intents of one amount taking 50
 * distinct amounts, 503 when every offset is taken, owner-only reads, expiry. The intent API
 * never calls the chain, so these chains' RPC URLs point nowhere; the scanner's tests
 * (crypto-scan.spec.ts) run against anvil.
 */
import { signedIn, SignedIn } from '../../support/account-client';
import { Gateway, startGateway } from '../../support/gateway';

const RECEIVE = '0x1111111111111111111111111111111111111111';
const USDC_ETH = '0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48';

describe('crypto intents (booted app, real Postgres and Redis)', () => {
  let gw: Gateway;
  let person: SignedIn;
  const create = (who: SignedIn, body: unknown) => who.fetch('/api/billing/crypto-intents', { method: 'POST', body });
  const error = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;

  beforeAll(async () => {
    gw = await startGateway({
      env: {
        CHAIN_ETHEREUM_RPC_URL: 'http://127.0.0.1:9/',
        CHAIN_BASE_RPC_URL: 'http://127.0.0.1:9/',
        CRYPTO_RECEIVE_ADDRESS: RECEIVE,
        CRYPTO_INTENT_TTL: '600',
        TOPUP_MAX_USD: '1000',
      },
    });
    person = await signedIn(gw);
  }, 120_000);
  afterAll(async () => {
    await gw?.close();
  });

  it('answers 201 with the exact amount to send: what was asked plus at most 0.01, and reads it back as pending', async () => {
    const before = Date.now();
    const res = await create(person, { chain: 'ethereum', token: 'USDC', amount: '25.5' });
    expect(res.status).toBe(201);
    const body = (await res.json()) as Record<string, string | number>;
    expect(body).toEqual({
      id: expect.any(String),
      chain: 'ethereum',
      chainId: 1,
      token: 'USDC',
      tokenAddress: USDC_ETH,
      address: RECEIVE,
      amount: expect.stringMatching(/^25\.5\d{5}$/),
      expiresAt: expect.any(String),
    });
    const units = BigInt(String(body.amount).replace('.', ''));
    expect(units).toBeGreaterThan(25_500_000n);
    expect(units).toBeLessThanOrEqual(25_510_000n);
    const expires = Date.parse(String(body.expiresAt));
    expect(expires - before).toBeGreaterThanOrEqual(599_000);
    expect(expires - Date.now()).toBeLessThanOrEqual(600_000);
    const got = await person.fetch(`/api/billing/crypto-intents/${body.id}`);
    expect(got.status).toBe(200);
    expect(await got.json()).toEqual({ ...body, status: 'pending', txHash: null, confirmations: null });
  });

  it('lists the configured chains and tokens (no RPC URL), and each one it lists is one an intent may name', async () => {
    const res = await person.fetch('/api/billing/crypto-options');
    expect(res.status).toBe(200);
    const text = await res.text();
    const body = JSON.parse(text) as { chains: Array<{ name: string; chainId: number; tokens: Array<{ symbol: string; address: string }> }> };
    expect(body.chains.map((c) => [c.name, c.chainId, c.tokens.map((t) => t.symbol)])).toEqual([
      ['ethereum', 1, ['USDC', 'USDT']],
      ['base', 8453, ['USDC']],
    ]);
    expect(body.chains[0].tokens[0]).toEqual({ symbol: 'USDC', address: USDC_ETH });
    // The RPC URL may carry a provider's key: never in the answer.
    expect(text).not.toContain('127.0.0.1:9');
    expect(text).not.toMatch(/rpc/i);
    for (const c of body.chains) for (const t of c.tokens) expect((await create(person, { chain: c.name, token: t.symbol, amount: '5' })).status).toBe(201);
    expect((await fetch(`${gw.url}/api/billing/crypto-options`)).status).toBe(401);
  });

  it('refuses bad amounts, unknown fields, chains and tokens with a 400 naming what is wrong, and writes nothing', async () => {
    const count = async () => (await gw.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM crypto_intents')).rows[0].n;
    const before = await count();
    const cases: Array<[unknown, number, string, RegExp]> = [
      [{ chain: 'base', token: 'USDC', amount: '4.999999' }, 400, 'validation_failed', /amount: must be at least 5/],
      [{ chain: 'base', token: 'USDC', amount: '1000.000001' }, 400, 'validation_failed', /amount: must be at most 1000/],
      [{ chain: 'base', token: 'USDC', amount: '5.1234567' }, 400, 'validation_failed', /amount: .*at most 6 decimals/],
      [{ chain: 'base', token: 'USDC', amount: '1e3' }, 400, 'validation_failed', /amount/],
      [{ chain: 'base', token: 'USDC', amount: '-5' }, 400, 'validation_failed', /amount/],
      [{ chain: 'base', token: 'USDC', amount: ' 5' }, 400, 'validation_failed', /amount/],
      [{ chain: 'base', token: 'USDC', amount: '9'.repeat(40) }, 400, 'validation_failed', /amount/],
      [{ chain: 'base', token: 'USDC', amount: 5 }, 400, 'validation_failed', /amount/],
      [{ chain: 'base', token: 'USDC' }, 400, 'validation_failed', /amount/],
      [{ chain: 'base', token: 'USDC', amount: '5', tip: '1' }, 400, 'validation_failed', /unknown field tip/],
      [{ chain: 'solana', token: 'USDC', amount: '5' }, 400, 'chain_not_offered', /"solana"/],
      [{ chain: 'base', token: 'DAI', amount: '5' }, 400, 'token_not_offered', /"DAI"/],
      // Tether issues no native USDT on Base: not offered there by default.
      [{ chain: 'base', token: 'USDT', amount: '5' }, 400, 'token_not_offered', /"USDT" is not offered on base/],
    ];
    for (const [body, status, code, message] of cases) {
      const res = await create(person, body);
      expect(res.status).toBe(status);
      const e = await error(res);
      expect(e.code).toBe(code);
      expect(e.message).toMatch(message);
    }
    const anonymous = await fetch(`${gw.url}/api/billing/crypto-intents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ chain: 'base', token: 'USDC', amount: '5' }) });
    expect(anonymous.status).toBe(401);
    expect(await count()).toBe(before);
  });

  it('gives 50 concurrent intents of one amount 50 distinct exact amounts', async () => {
    const people = await Promise.all(Array.from({ length: 5 }, () => signedIn(gw)));
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => create(people[i % 5], { chain: 'base', token: 'USDC', amount: '42' })));
    expect(answers.map((r) => r.status)).toEqual(Array(50).fill(201));
    const amounts = await Promise.all(answers.map(async (r) => ((await r.json()) as { amount: string }).amount));
    expect(new Set(amounts).size).toBe(50);
    for (const a of amounts) {
      const units = BigInt(a.replace('.', ''));
      expect(units > 42_000_000n && units <= 42_010_000n).toBe(true);
    }
  }, 60_000);

  it('answers 503 intents_exhausted when every offset of an amount is taken by an open intent', async () => {
    // Every offset of 77 on Ethereum USDT held by another account's open intents (seeded as rows).
    await gw.db.pool.query(
      `INSERT INTO crypto_intents (intent_id, account_id, chain_id, token, token_address, address, amount, created_at, expires_at, status)
       SELECT gen_random_uuid(), gen_random_uuid(), 1, 'USDT', '0xdac17f958d2ee523a2206206994597c13d831ec7', $1, 77000000 + o, now(), now() + interval '1 hour', 'pending'
         FROM generate_series(1, 10000) AS o`,
      [RECEIVE],
    );
    const res = await create(person, { chain: 'ethereum', token: 'USDT', amount: '77' });
    expect(res.status).toBe(503);
    expect((await error(res)).code).toBe('intents_exhausted');
    // Another amount, or the same amount with another token, is still served.
    expect((await create(person, { chain: 'ethereum', token: 'USDC', amount: '77' })).status).toBe(201);
    // Once one of those expires (the scanner marks it), its amount is free again: the next intent gets exactly it.
    const { rows } = await gw.db.pool.query<{ amount: string }>(
      `UPDATE crypto_intents SET status = 'expired' WHERE intent_id = (SELECT intent_id FROM crypto_intents WHERE chain_id = 1 AND token = 'USDT' AND amount = 77004321) RETURNING amount::text`,
    );
    expect(rows).toHaveLength(1);
    const again = await create(person, { chain: 'ethereum', token: 'USDT', amount: '77' });
    expect(again.status).toBe(201);
    expect(((await again.json()) as { amount: string }).amount).toBe('77.004321');
  }, 60_000);

  it("answers 404 for another account's intent and for ids that are not intents", async () => {
    const res = await create(person, { chain: 'base', token: 'USDC', amount: '5' });
    const { id } = (await res.json()) as { id: string };
    const other = await signedIn(gw);
    const theirs = await other.fetch(`/api/billing/crypto-intents/${id}`);
    expect(theirs.status).toBe(404);
    expect((await error(theirs)).code).toBe('intent_not_found');
    for (const bad of ['00000000-0000-4000-8000-000000000000', 'not-an-id', "1'%20OR%20'1'='1"]) {
      expect((await person.fetch(`/api/billing/crypto-intents/${bad}`)).status).toBe(404);
    }
  });

  it('reads an intent past its expiry as expired', async () => {
    const res = await create(person, { chain: 'base', token: 'USDC', amount: '6' });
    const { id } = (await res.json()) as { id: string };
    await gw.db.pool.query(`UPDATE crypto_intents SET expires_at = now() - interval '1 second' WHERE intent_id = $1`, [id]);
    const got = (await (await person.fetch(`/api/billing/crypto-intents/${id}`)).json()) as { status: string };
    expect(got.status).toBe('expired');
  });
});

describe('crypto options with no chain configured', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startGateway();
  }, 120_000);
  afterAll(async () => {
    await gw?.close();
  });

  it('lists none, and an intent on any chain is refused', async () => {
    const person = await signedIn(gw);
    const res = await person.fetch('/api/billing/crypto-options');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ chains: [] });
    const refused = await person.fetch('/api/billing/crypto-intents', { method: 'POST', body: { chain: 'base', token: 'USDC', amount: '5' } });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('chain_not_offered');
  });
});
