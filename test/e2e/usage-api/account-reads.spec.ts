/**
 * The account API's reads through the booted app: requests made by the official openai SDK
 * through the real proxy (fake upstream), then read back as a person signed in with a session
 * (and by a script with a management key): balance equal to the ledger, usage equal to the
 * request log in every grouping, CSV equal to JSON, pages that walk every row once, receipts
 * equal to /v1/generations, another account's data never shown, bad input a 400 naming the
 * parameter.
 */
import OpenAI from 'openai';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway } from '../../support/gateway';
import { SignedIn, signedIn } from '../../support/account-client';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { ReadModels } from '../../../src/ledger/application/read-models';
import { formatCredits } from '../../../src/shared/money';

type Json = Record<string, any>;

async function json(res: Response): Promise<Json> {
  const text = await res.text();
  try {
    return JSON.parse(text) as Json;
  } catch {
    throw new Error(`not JSON (HTTP ${res.status}): ${text.slice(0, 300)}`);
  }
}

/** Every page of a list, following nextCursor. */
async function walk(me: SignedIn, path: string, limit: number): Promise<Json[]> {
  const out: Json[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 1000; pages++) {
    const sep = path.includes('?') ? '&' : '?';
    const res = await me.fetch(`${path}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(res.status).toBe(200);
    const page = await json(res);
    out.push(...(page.data as Json[]));
    cursor = page.nextCursor as string | null;
    if (!cursor) return out;
  }
  throw new Error('the walk did not end');
}

function parseCsv(text: string): string[][] {
  return text
    .split('\r\n')
    .filter((l) => l !== '')
    .map((l) => l.split(','));
}

describe('account API reads (booted app, real proxy)', () => {
  let fake: FakeUpstream;
  let gw: Gateway;
  let me: SignedIn;
  let keys: { keyId: string; secret: string }[];
  const granted = 5_000_000n;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    gw = await startGateway({ openai: fake });
    me = await signedIn(gw, 'reader@example.com');
    const ledger = gw.app.get(LedgerService);
    await ledger.execute(me.accountId, { type: 'GrantCredits', data: { grantId: 'usage-api-test', amount: granted, reason: 'test funds' } });
    keys = [await gw.key(me.accountId), await gw.key(me.accountId)];
    // 24 requests: the 20 free ones first, then paid; two keys, two models, one refused upstream.
    const models = ['gpt-4o-mini', 'gpt-4o'];
    for (let i = 0; i < 24; i++) {
      const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: keys[i % 2].secret, maxRetries: 0 });
      if (i === 22) fake.script({ kind: 'status', status: 500 });
      await client.chat.completions
        .create({ model: models[i % 3 === 0 ? 1 : 0], max_tokens: 20, messages: [{ role: 'user', content: `request number ${i} of the usage test` }] })
        .catch((e: unknown) => {
          if (i !== 22) throw e;
        });
    }
    await gw.requests(me.accountId, 24);
    await gw.app.get(ReadModels).bringUpToDate();
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  it('answers 401 without a session or key', async () => {
    for (const path of ['/api/balance', '/api/transactions', '/api/usage', '/api/requests', '/api/requests/x']) {
      const res = await fetch(`${gw.url}${path}`);
      expect(res.status).toBe(401);
      expect((await json(res)).error.code).toBe('unauthenticated');
    }
  });

  it('shows the balance the ledger has, in exact credits, after a grant and paid and free requests', async () => {
    const res = await me.fetch('/api/balance');
    expect(res.status).toBe(200);
    const body = await json(res);
    const { state } = await gw.app.get(LedgerService).load(me.accountId);
    const { rows } = await gw.db.pool.query<{ cost: string }>('SELECT sum(cost_micros)::text AS cost FROM request_log WHERE account_id = $1', [me.accountId]);
    const spent = BigInt(rows[0].cost);
    expect(spent).toBeGreaterThan(0n);
    expect(body).toEqual({
      available: formatCredits(granted - spent),
      held: '0.000000',
      frozen: '0.000000',
      receivable: '0.000000',
      freeRequests: 0,
      asOf: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(body.available).toBe(formatCredits(state.available));
  });

  it('lists the grant among the transactions, newest first', async () => {
    const all = await walk(me, '/api/transactions', 1);
    expect(all).toEqual([expect.objectContaining({ kind: 'grant', amount: '5.000000', reference: 'usage-api-test', reason: 'test funds' })]);
  });

  it('sums usage by day, model and key exactly as the request log does, and CSV says the same', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const log = async (by: string) =>
      (
        await gw.db.pool.query<{ g: string; requests: number; input: number; output: number; cost: string }>(
          `SELECT ${by} AS g, count(*)::int AS requests, sum(input_tokens + cached_tokens + cache_write_tokens)::int AS input,
                  sum(output_tokens)::int AS output, sum(cost_micros)::text AS cost
             FROM request_log WHERE account_id = $1 GROUP BY 1 ORDER BY 1`,
          [me.accountId],
        )
      ).rows.map((r) => ({ group: r.g, requests: r.requests, inputTokens: r.input, outputTokens: r.output, cost: formatCredits(BigInt(r.cost)) }));
    const groups: [string, string][] = [
      ['day', `to_char((started_at AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD')`],
      ['model', 'model'],
      ['key', 'key_id::text'],
    ];
    for (const [by, sql] of groups) {
      const res = await me.fetch(`/api/usage?group_by=${by}&from=${today}&to=${today}`);
      expect(res.status).toBe(200);
      const body = await json(res);
      expect(body).toMatchObject({ from: today, to: today, groupBy: by });
      const got = [...(body.data as Json[])].sort((a, b) => (a.group < b.group ? -1 : 1));
      // By key, each line also names its key (checked in the test of key names below).
      expect(got.map(({ name: _name, ...sums }) => sums)).toEqual(await log(sql));
      expect(got.every((l) => (by === 'key' ? typeof l.name === 'string' : !('name' in l)))).toBe(true);
      expect(got.reduce((n, l) => n + (l.requests as number), 0)).toBe(24);

      const csv = await me.fetch(`/api/usage?group_by=${by}&from=${today}&to=${today}&format=csv`);
      expect(csv.status).toBe(200);
      expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
      expect(csv.headers.get('content-disposition')).toMatch(/^attachment; filename="usage-by-/);
      const [header, ...lines] = parseCsv(await csv.text());
      const named = by === 'key';
      expect(header).toEqual(['group', ...(named ? ['name'] : []), 'requests', 'inputTokens', 'outputTokens', 'cost']);
      expect(lines).toEqual((body.data as Json[]).map((l) => [l.group, ...(named ? [l.name] : []), String(l.requests), String(l.inputTokens), String(l.outputTokens), l.cost]));
    }
    // The default window (the last 30 days) holds today.
    const dflt = await json(await me.fetch('/api/usage'));
    expect(dflt.groupBy).toBe('day');
    expect(dflt.data).toEqual([expect.objectContaining({ group: today, requests: 24 })]);
  });

  it('sums by day and model (or key) as the log does, names the top N and folds the rest, and CSV says the same', async () => {
    const today = new Date().toISOString().slice(0, 10);
    for (const [by, column] of [
      ['day,model', 'model'],
      ['day,key', 'key_id::text'],
    ] as const) {
      const { rows } = await gw.db.pool.query<{ g: string; requests: number; cost: string }>(
        `SELECT ${column} AS g, count(*)::int AS requests, sum(cost_micros)::text AS cost FROM request_log WHERE account_id = $1 GROUP BY 1 ORDER BY sum(cost_micros) DESC, 1`,
        [me.accountId],
      );
      expect(rows).toHaveLength(2);
      const res = await me.fetch(`/api/usage?group_by=${by}&from=${today}&to=${today}`);
      expect(res.status).toBe(200);
      const body = await json(res);
      expect(body).toMatchObject({ from: today, to: today, groupBy: by });
      expect((body.data as Json[]).map((l) => [l.group, l.subgroup, l.requests, l.cost])).toEqual(rows.map((r) => [today, r.g, r.requests, formatCredits(BigInt(r.cost))]));

      // top=1: the costliest named, the other summed as the rest (subgroup null).
      const top = await json(await me.fetch(`/api/usage?group_by=${by}&from=${today}&to=${today}&top=1`));
      expect((top.data as Json[]).map((l) => [l.group, l.subgroup, l.requests, l.cost])).toEqual([
        [today, rows[0].g, rows[0].requests, formatCredits(BigInt(rows[0].cost))],
        [today, null, rows[1].requests, formatCredits(BigInt(rows[1].cost))],
      ]);

      const csv = await me.fetch(`/api/usage?group_by=${by}&from=${today}&to=${today}&top=1&format=csv`);
      expect(csv.status).toBe(200);
      expect(csv.headers.get('content-disposition')).toBe(`attachment; filename="usage-by-${by.replace(',', '-and-')}-${today}-to-${today}.csv"`);
      const [header, ...lines] = parseCsv(await csv.text());
      const named = by === 'day,key';
      expect(header).toEqual(['group', 'subgroup', ...(named ? ['name'] : []), 'requests', 'inputTokens', 'outputTokens', 'cost']);
      expect(lines).toEqual(
        (top.data as Json[]).map((l) => [l.group, l.subgroup ?? '', ...(named ? [l.name ?? ''] : []), String(l.requests), String(l.inputTokens), String(l.outputTokens), l.cost]),
      );
    }
    // One dimension answers no subgroup at all, as before.
    const byModel = await json(await me.fetch(`/api/usage?group_by=model&from=${today}&to=${today}`));
    expect((byModel.data as Json[]).every((l) => !('subgroup' in l))).toBe(true);
  });

  it('walks the request log newest first, every row once at any page size, with filters', async () => {
    const log = await gw.requests(me.accountId, 24);
    for (const limit of [1, 5, 200]) {
      const all = await walk(me, '/api/requests', limit);
      expect(all.map((r) => r.id)).toEqual([...log].sort((a, b) => (a.started_at > b.started_at || (+a.started_at === +b.started_at && a.request_id > b.request_id) ? -1 : 1)).map((r) => r.request_id));
    }
    const byKey = await walk(me, `/api/requests?key=${keys[1].keyId}`, 4);
    expect(byKey.map((r) => r.id).sort()).toEqual(log.filter((r) => r.key_id === keys[1].keyId).map((r) => r.request_id).sort());
    expect(byKey.every((r) => r.keyId === keys[1].keyId)).toBe(true);
    const byModel = await walk(me, '/api/requests?model=gpt-4o', 50);
    expect(byModel.length).toBe(log.filter((r) => r.model === 'gpt-4o').length);
    // Text Postgres cannot hold (a NUL, a lone surrogate) finds nothing rather than failing.
    for (const odd of ['%00', '%ED%A0%80', encodeURIComponent('\u0000gpt')]) expect(await walk(me, `/api/requests?model=${odd}`, 50)).toEqual([]);
    // The request the upstream refused: whatever status the client got for it, that filter finds it alone.
    const refused = log.filter((r) => r.status >= 400);
    expect(refused).toHaveLength(1);
    const failed = await walk(me, `/api/requests?status=${refused[0].status}`, 50);
    expect(failed.map((r) => r.id)).toEqual([refused[0].request_id]);
    // ok-vs-error and UTC days, alone and together, each page walking on with the same filters.
    const errors = await walk(me, '/api/requests?outcome=error', 1);
    expect(errors.map((r) => r.id)).toEqual([refused[0].request_id]);
    const oks = await walk(me, '/api/requests?outcome=ok', 5);
    expect(oks.map((r) => r.id).sort()).toEqual(log.filter((r) => r.status < 400).map((r) => r.request_id).sort());
    const today = new Date().toISOString().slice(0, 10);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    expect(await walk(me, `/api/requests?from=${yesterday}&to=${today}`, 7)).toHaveLength(24); // yesterday too: a run that straddles midnight
    expect(await walk(me, `/api/requests?from=${tomorrow}`, 50)).toEqual([]);
    expect(await walk(me, `/api/requests?to=${yesterday}`, 50)).toEqual([]);
    const combined = await walk(me, `/api/requests?outcome=ok&key=${keys[1].keyId}&model=gpt-4o-mini&from=${yesterday}&to=${today}`, 2);
    expect(combined.map((r) => r.id).sort()).toEqual(
      log
        .filter((r) => r.status < 400 && r.key_id === keys[1].keyId && r.model === 'gpt-4o-mini')
        .map((r) => r.request_id)
        .sort(),
    );
    expect(combined.length).toBeGreaterThan(2); // more than one page
    const item = (await walk(me, '/api/requests', 200))[0];
    expect(Object.keys(item).sort()).toEqual(
      ['billing', 'cacheWriteTokens', 'cachedTokens', 'cost', 'createdAt', 'endpoint', 'errorCode', 'estimated', 'freeRequest', 'id', 'inputTokens', 'keyId', 'latencyMs', 'model', 'outputTokens', 'provider', 'status', 'stream'].sort(),
    );
  });

  it('answers a receipt equal to GET /v1/generations/{id}, and 404 for another account’s request', async () => {
    const [row] = await gw.requests(me.accountId, 24);
    const res = await me.fetch(`/api/requests/${row.request_id}`);
    expect(res.status).toBe(200);
    const viaProxy = await fetch(`${gw.url}/v1/generations/${row.request_id}`, { headers: { authorization: `Bearer ${keys[0].secret}` } });
    expect(await json(res)).toEqual(await json(viaProxy));

    const stranger = await signedIn(gw, 'stranger@example.com');
    const theirs = await stranger.fetch(`/api/requests/${row.request_id}`);
    expect(theirs.status).toBe(404);
    expect((await json(theirs)).error.code).toBe('not_found');
    expect((await json(await stranger.fetch('/api/requests'))).data).toEqual([]);
    expect((await json(await stranger.fetch('/api/usage?group_by=key'))).data).toEqual([]);
    expect((await json(await stranger.fetch('/api/transactions'))).data).toEqual([]);
    expect(await json(await stranger.fetch('/api/balance'))).toMatchObject({ available: '0.000000', freeRequests: 20 });
  });

  it.each([
    ['/api/usage?from=2026-02-30', 'from'],
    ['/api/usage?to=yesterday', 'to'],
    ['/api/usage?from=2026-03-02&to=2026-03-01', 'from'],
    ['/api/usage?from=2025-01-01&to=2025-04-03', 'from'],
    ['/api/usage?group_by=week', 'group_by'],
    ['/api/usage?format=xml', 'format'],
    ['/api/usage?group_by=model,day', 'group_by'],
    ['/api/usage?group_by=day,model,key', 'group_by'],
    ['/api/usage?group_by=model&top=3', 'top'],
    ['/api/usage?group_by=day,model&top=0', 'top'],
    ['/api/usage?group_by=day,model&top=51', 'top'],
    ['/api/usage?group_by=day,model&top=1e1', 'top'],
    ['/api/usage?group_by=day,model&top=-1', 'top'],
    [`/api/usage?from=${'9'.repeat(5000)}`, 'from'],
    ['/api/requests?limit=0', 'limit'],
    ['/api/requests?limit=201', 'limit'],
    ['/api/requests?limit=ten', 'limit'],
    ['/api/requests?cursor=bm90LWEtY3Vyc29y', 'cursor'],
    ['/api/requests?cursor=%00%01', 'cursor'],
    ['/api/requests?key=not-a-uuid', 'key'],
    ['/api/requests?status=99', 'status'],
    ['/api/requests?status=2OO', 'status'],
    ['/api/requests?outcome=failed', 'outcome'],
    ['/api/requests?from=2026-02-30', 'from'],
    ['/api/requests?to=yesterday', 'to'],
    ['/api/requests?from=2026-03-02&to=2026-03-01', 'from'],
    [`/api/requests?from=${'9'.repeat(5000)}`, 'from'],
    ['/api/requests?outcome=ok&outcome=error', 'outcome'],
    ['/api/transactions?cursor=e30', 'cursor'],
    // Forged cursors of the right shape: a day that does not exist, an id Postgres could not read.
    [`/api/requests?cursor=${Buffer.from(JSON.stringify({ at: '2026-02-30T00:00:00.000000Z', id: 'x' })).toString('base64url')}`, 'cursor'],
    [`/api/transactions?cursor=${Buffer.from(JSON.stringify({ at: '2026-02-01T00:00:00.000000Z', id: 'not-a-uuid' })).toString('base64url')}`, 'cursor'],
    ['/api/usage?from=2026-01-01&from=2026-01-02', 'from'],
    ['/api/requests?limit=5&limit=6', 'limit'],
  ])('answers 400 validation_failed naming the parameter for %s', async (path, param) => {
    const res = await me.fetch(path);
    expect(res.status).toBe(400);
    const body = await json(res);
    expect(body.error.code).toBe('validation_failed');
    expect(body.error.message).toMatch(new RegExp(`^${param}\\b`));
  });

  it('documents every route, its parameters and its errors in /openapi.json', async () => {
    const doc = await json(await fetch(`${gw.url}/openapi.json`));
    const paths = doc.paths as Record<string, Record<string, Json>>;
    for (const path of ['/api/balance', '/api/transactions', '/api/usage', '/api/requests', '/api/requests/{id}']) {
      const get = paths[path]?.get;
      expect({ path, documented: get !== undefined }).toEqual({ path, documented: true });
      expect(Object.keys(get.responses as Json)).toEqual(expect.arrayContaining(['200', '401']));
    }
    expect(Object.keys(paths['/api/usage'].get.responses as Json)).toContain('400');
    expect((paths['/api/usage'].get.parameters as Json[]).map((p) => p.name)).toEqual(expect.arrayContaining(['from', 'to', 'group_by', 'format']));
    expect(Object.keys(paths['/api/requests/{id}'].get.responses as Json)).toContain('404');
  });

  it('walks the request log exactly once while new requests arrive', async () => {
    const before = (await gw.requests(me.accountId, 24)).map((r) => r.request_id as string);
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: keys[0].secret, maxRetries: 0 });
    const seen: string[] = [];
    let cursor: string | null = null;
    let sent = 0;
    do {
      const page = await json(await me.fetch(`/api/requests?limit=3${cursor ? `&cursor=${cursor}` : ''}`));
      seen.push(...(page.data as Json[]).map((r) => r.id as string));
      cursor = page.nextCursor as string | null;
      await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 5, messages: [{ role: 'user', content: 'arrive mid-walk' }] });
      sent++;
    } while (cursor);
    await gw.requests(me.accountId, 24 + sent);
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of before) expect(seen).toContain(id);
  });
});

describe('account API reads before any worker has made the read models', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('reads the balance from the ledger, and says the transactions list is not ready (503, retry-after)', async () => {
    const { rows } = await gw.db.pool.query("SELECT 1 FROM information_schema.schemata WHERE schema_name IN ('rm_balances', 'rm_transactions')");
    expect(rows).toEqual([]); // so this is the case it says
    const me = await signedIn(gw);
    const balance = await me.fetch('/api/balance');
    expect(balance.status).toBe(200);
    expect(await json(balance)).toMatchObject({ available: '0.000000', held: '0.000000', freeRequests: 20 });
    const transactions = await me.fetch('/api/transactions');
    expect(transactions.status).toBe(503);
    expect(transactions.headers.get('retry-after')).toBe('5');
    expect((await json(transactions)).error.code).toBe('unavailable');
  });
});
