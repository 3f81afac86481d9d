/**
 * The request log is every answer's receipt: one odd row must never cost the rows written
 * beside it (issue 16, part 9: a model name holding a NUL made Postgres refuse whole batches).
 */
import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import fc from 'fast-check';
import { RequestLogRepository, RequestLogRow } from '../../../src/proxy/usage/request-log.repository';
import { storableText } from '../../../src/platform/database/storable-text';
import { FreshDb, freshDb } from '../../support/fresh-db';

/** Encodable as UTF-8 without loss (what Postgres needs). */
const wellFormed = (s: string) => Buffer.from(s, 'utf8').toString('utf8') === s;

function row(over: Partial<RequestLogRow> = {}): RequestLogRow {
  return {
    requestId: randomUUID(),
    accountId: randomUUID(),
    keyId: randomUUID(),
    startedAt: new Date(),
    endpoint: 'openai.chat',
    model: 'gpt-4o',
    provider: 'openai',
    channelId: null,
    stream: false,
    status: 200,
    errorCode: null,
    inputTokens: 10,
    cachedTokens: 0,
    cacheWriteTokens: 0,
    outputTokens: 5,
    estimated: false,
    freeRequest: false,
    heldMicros: 100n,
    costMicros: 42n,
    billing: 'settled',
    priceVersion: 1,
    unitPrices: { input: '2500000', output: '10000000', per: 'µcr per million tokens', marginBps: 0 },
    latencyMs: 12,
    ttfbMs: 3,
    attempts: 1,
    ...over,
  };
}

describe('request log (real Postgres)', () => {
  let db: FreshDb;
  let repo: RequestLogRepository;
  let errors: jest.SpyInstance;
  beforeAll(async () => {
    db = await freshDb();
  });
  afterAll(() => db.drop());
  beforeEach(() => {
    repo = new RequestLogRepository(db.pool);
    errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });
  afterEach(async () => {
    await repo.onModuleDestroy();
    errors.mockRestore();
  });

  const stored = async (ids: string[]) =>
    (await db.pool.query('SELECT request_id, model FROM request_log WHERE request_id = ANY($1)', [ids])).rows as { request_id: string; model: string }[];

  it('writes rows whose client-given text holds NULs, lone surrogates or a huge model name, beside the others', async () => {
    const rows = [
      row(),
      row({ model: 'gpt-4o\u0000' }),
      row({ model: 'gpt-\ud800-4o' }),
      row({ model: '\udc00' + 'x'.repeat(1_000_000) }),
      row({ model: 'x'.repeat(199) + '😀' }), // the pair straddles the cut: dropped whole, not split
      row(),
    ];
    await Promise.all(rows.map((r) => repo.record(r)));
    const got = await stored(rows.map((r) => r.requestId));
    expect(got).toHaveLength(rows.length);
    const model = (r: RequestLogRow) => got.find((g) => g.request_id === r.requestId)!.model;
    expect(model(rows[1])).toBe('gpt-4o\uFFFD');
    expect(model(rows[2])).toBe('gpt-\uFFFD-4o');
    expect(model(rows[3])).toHaveLength(200);
    expect(model(rows[4])).toBe('x'.repeat(199));
    expect(repo.setAside).toBe(0);
  });

  it('a row Postgres refuses for its data is set aside, named by its request id, and the rest of its batch is written', async () => {
    const good = Array.from({ length: 9 }, () => row());
    const bad = row({ status: 2 ** 40 }); // integer out of range: SQLSTATE 22003
    const batch = [...good.slice(0, 4), bad, ...good.slice(4)];
    await Promise.all(batch.map((r) => repo.record(r)));
    expect((await stored(batch.map((r) => r.requestId))).map((r) => r.request_id).sort()).toEqual(good.map((r) => r.requestId).sort());
    expect(repo.setAside).toBe(1);
    const logged = errors.mock.calls.map((c) => String(c[0]));
    expect(logged).toEqual([expect.stringContaining(`request ${bad.requestId}: its request log row was refused by Postgres (SQLSTATE 22003)`)]);
    // A receipt asked for the set-aside row is answered (not found), not left waiting.
    await expect(repo.find(bad.requestId, bad.accountId)).resolves.toBeNull();
  });

  it('storableText: any string comes out storable, no longer than asked, and unchanged when it already was', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.integer({ min: 0, max: 300 }), (s, max) => {
        const out = storableText(s, max);
        const unchanged = s.length <= max && wellFormed(s) && !s.includes('\u0000');
        return out.length <= max && !out.includes('\u0000') && wellFormed(out) && (!unchanged || out === s);
      }),
      { numRuns: 1_000 },
    );
  });
});
