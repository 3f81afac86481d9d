/**
 * Idempotency-Key on the real Postgres: one creation per (scope, key) whatever the number of
 * concurrent duplicates, a replay answers the same resource with 200, another body is
 * `idempotency_mismatch`, a failed creation releases the key, and rows past 24 hours are
 * neither answered nor kept.
 */
import { createHash, randomUUID } from 'node:crypto';
import { IdempotencyError, IdempotencyKeys } from '../../../src/platform/http/idempotency';
import { FreshDb, freshDb } from '../../support/fresh-db';

describe('IdempotencyKeys (real Postgres)', () => {
  let db: FreshDb;
  let keys: IdempotencyKeys;
  let made: string[];

  beforeAll(async () => {
    db = await freshDb(12);
    keys = new IdempotencyKeys(db.pool);
  });
  afterAll(() => db?.drop());
  beforeEach(() => {
    made = [];
  });

  const creation = (delayMs = 0) => ({
    create: async () => {
      const id = randomUUID();
      made.push(id);
      await new Promise((r) => setTimeout(r, delayMs));
      return { id, body: { id, secret: 'only-once' } };
    },
    replay: (id: string) => Promise.resolve({ id }),
  });

  it('without a key, every request creates', async () => {
    await keys.run({ scope: 's', key: undefined, request: { a: 1 } }, creation());
    await keys.run({ scope: 's', key: undefined, request: { a: 1 } }, creation());
    expect(made).toHaveLength(2);
  });

  it('same key and body: 201 once, then 200 replayed with the same id and without the secret', async () => {
    const first = await keys.run({ scope: 'acc-1 POST /api/projects', key: 'k1', request: { name: 'a', b: [1, 2] } }, creation());
    // The same body with its keys in another order is the same request.
    const again = await keys.run({ scope: 'acc-1 POST /api/projects', key: 'k1', request: { b: [1, 2], name: 'a' } }, creation());
    expect(first).toMatchObject({ status: 201, replayed: false, body: { secret: 'only-once' } });
    expect(again).toEqual({ status: 200, replayed: true, body: { id: first.body.id } });
    expect(made).toHaveLength(1);
  });

  it('same key, another body: idempotency_mismatch and nothing created; another scope is apart', async () => {
    await keys.run({ scope: 'acc-2 POST /api/projects', key: 'k', request: { name: 'a' } }, creation());
    const err = await keys.run({ scope: 'acc-2 POST /api/projects', key: 'k', request: { name: 'b' } }, creation()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdempotencyError);
    expect((err as IdempotencyError).code).toBe('idempotency_mismatch');
    await keys.run({ scope: 'acc-3 POST /api/projects', key: 'k', request: { name: 'b' } }, creation());
    expect(made).toHaveLength(2);
  });

  it('10 concurrent requests with one key make exactly one resource; the others wait and replay it', async () => {
    const answers = await Promise.all(Array.from({ length: 10 }, () => keys.run({ scope: 'acc-4', key: 'same', request: { n: 1 } }, creation(150))));
    expect(made).toHaveLength(1);
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    expect(answers.filter((a) => a.replayed)).toHaveLength(9);
    expect(new Set(answers.map((a) => a.body.id))).toEqual(new Set([made[0]]));
  });

  it('a failed creation releases the key: the retry with the same key creates', async () => {
    const failing = { create: () => Promise.reject(new Error('upstream down')), replay: () => Promise.reject(new Error('never')) };
    await expect(keys.run({ scope: 'acc-5', key: 'r', request: {} }, failing)).rejects.toThrow('upstream down');
    expect((await keys.run({ scope: 'acc-5', key: 'r', request: {} }, creation())).status).toBe(201);
  });

  it('a key still under way past the wait is idempotency_in_progress (not a second resource)', async () => {
    await db.pool.query(`INSERT INTO idempotency_keys (scope, key, fingerprint, state) VALUES ('acc-6', 'busy', $1, 'in_progress')`, [
      createHash('sha256').update('{}').digest('hex'), // the request below's own: no mismatch
    ]);
    const started = Date.now();
    const err = await keys.run({ scope: 'acc-6', key: 'busy', request: {} }, creation()).catch((e: unknown) => e);
    expect((err as IdempotencyError).code).toBe('idempotency_in_progress');
    expect(Date.now() - started).toBeGreaterThanOrEqual(9_000);
    expect(made).toHaveLength(0);
  }, 20_000);

  it('a row older than 24 hours is not answered (the key is free again) and purge removes it', async () => {
    await keys.run({ scope: 'acc-7', key: 'old', request: { v: 1 } }, creation());
    await db.pool.query(`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE scope = 'acc-7'`);
    const r = await keys.run({ scope: 'acc-7', key: 'old', request: { v: 2 } }, creation());
    expect(r.status).toBe(201);
    await db.pool.query(`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE scope = 'acc-7'`);
    expect(await keys.purge()).toBeGreaterThanOrEqual(1);
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM idempotency_keys WHERE scope = 'acc-7'`)).rows[0].n).toBe(0);
  });
});
