/**
 * `tollgate keys …` as an operator runs it: the built CLI as a child process over a fresh
 * database and the real Redis, with an API instance's authenticator running in this process
 * (same Redis prefix), so a revoke from the command line is seen by a running instance.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { PostgresEventStore } from '../../src/platform/event-store/postgres/postgres-event-store';
import { LedgerService } from '../../src/ledger/application/ledger.service';
import { systemClock } from '../../src/platform/clock';
import { redisFactory } from '../../src/platform/redis/redis.module';
import { ApiKeysRepository } from '../../src/keys/application/api-keys.repository';
import { ApiKeyAuthenticator, KeyAuthError } from '../../src/keys/application/api-key-authenticator';
import { freshDb, FreshDb } from '../support/fresh-db';
import { TEST_REDIS_URL } from '../support/test-env';
import { CLI, expectOneErrorLine, run } from '../support/cli-runner';

const SECRET = /tg-[0-9A-Za-z]{40}/g;

describe('tollgate keys … (built CLI, real Postgres and Redis)', () => {
  let db: FreshDb;
  let store: PostgresEventStore;
  let api: ApiKeyAuthenticator;
  let factory: ReturnType<typeof redisFactory>;
  const account = randomUUID();
  const prefix = `tgtest:keyscli:${randomBytes(4).toString('hex')}:`;
  const tollgate = (...args: string[]) =>
    run(process.execPath, [CLI, 'keys', ...args], { DATABASE_URL: db.url, REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix });
  const json = async (...args: string[]) => {
    const r = await tollgate(...args, '--json');
    if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  const eventCount = async () => (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events')).rows[0].n;
  const authCode = (secret: string) =>
    api.authenticate(secret).then(
      () => 'accepted',
      (err) => (err instanceof KeyAuthError ? err.code : Promise.reject(err as Error)),
    );

  beforeAll(async () => {
    db = await freshDb(4);
    store = new PostgresEventStore(db.pool);
    await new LedgerService(store, systemClock).execute(account, { type: 'OpenAccount', data: { accountId: account } });
    factory = redisFactory(TEST_REDIS_URL, prefix);
    api = new ApiKeyAuthenticator(new ApiKeysRepository(db.pool), factory, systemClock);
    expect(await api.waitUntilListening()).toBe(true);
  }, 180_000);
  afterAll(async () => {
    await api?.stop();
    await factory?.closeAll();
    await store?.close();
    await db?.drop();
  });

  it('create prints the secret once, warns that it will not be shown again, and the key works at once', async () => {
    const r = await tollgate('create', '--account', account, '--project', 'web', '--name', 'laptop');
    expect(r).toMatchObject({ code: 0 }); // on failure, shows its stderr
    const secrets: string[] = r.stdout.match(SECRET) ?? [];
    expect(secrets).toHaveLength(1);
    expect(r.stdout).toMatch(/^created key [0-9a-f-]{36} for account .* \(project web, name laptop\)/);
    expect(r.stderr).toMatch(/^warning: this is the only time the secret is shown/);
    expect(r.stderr).not.toMatch(SECRET);
    expect(await authCode(secrets[0])).toBe('accepted');
  });

  it('create --json: one object with the secret; list shows keys by prefix…last4, never a hash or secret', async () => {
    const created = await json('create', '--account', account, '--name', 'ci');
    expect(created).toMatchObject({ accountId: account, project: 'default', name: 'ci', status: 'active' });
    expect(created.secret).toMatch(/^tg-[0-9A-Za-z]{40}$/);
    expect(created.key).toBe(`${created.secret.slice(0, 7)}…${created.secret.slice(-4)}`);
    const listed = await tollgate('list', '--account', account, '--json');
    const { keys } = JSON.parse(listed.stdout);
    expect(keys.map((k: { name: string }) => k.name)).toEqual(['laptop', 'ci']);
    expect(listed.stdout).not.toMatch(SECRET);
    expect(listed.stdout).not.toMatch(/[0-9a-f]{64}/);
    expect(Object.keys(keys[1]).sort()).toEqual(['accountId', 'createdAt', 'expired', 'key', 'keyId', 'limits', 'name', 'project', 'projectId', 'revokedAt', 'status']);
    const human = await tollgate('list', '--account', account);
    expect(human.stdout).toContain(created.key);
    expect(human.stdout).toMatch(/^KEY ID\s+PROJECT\s+NAME\s+KEY\s+STATUS\s+LIMITS\s+CREATED/);
    // --project finds the account's project of that name, case aside (the one the account API lists), or makes it.
    const upper = await json('create', '--account', account, '--project', 'WEB', '--name', 'upper');
    expect(upper).toMatchObject({ project: 'web', projectId: keys[0].projectId });
    expect(keys[1].projectId).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1].projectId).not.toBe(keys[0].projectId); // "default"
  });

  it('limits: set, then cleared with --all-models/--no-… ; the running instance sees each change', async () => {
    const { keyId, secret } = await json('create', '--account', account);
    await api.authenticate(secret);
    const set = await json('limits', '--key', keyId, '--models', 'gpt-4o, claude-sonnet-4', '--spend-cap', '2.5', '--expires', '2030-01-01T00:00:00Z', '--rpm', '60', '--tpm', '5000');
    expect(set.limits).toEqual({ models: ['gpt-4o', 'claude-sonnet-4'], spendCap: '2.500000', expiresAt: '2030-01-01T00:00:00.000Z', rpm: 60, tpm: 5000 });
    expect(await api.authenticate(secret)).toMatchObject({ models: ['gpt-4o', 'claude-sonnet-4'], spendCapMicros: 2_500_000n, rpm: 60 });
    const cleared = await json('limits', '--key', keyId, '--all-models', '--no-spend-cap', '--no-expiry', '--no-rpm');
    expect(cleared.limits).toEqual({ models: null, spendCap: null, expiresAt: null, rpm: null, tpm: 5000 });
    expect(await api.authenticate(secret)).toMatchObject({ models: null, spendCapMicros: null, rpm: null, tpm: 5000 });
  });

  it('revoke: the running instance, which had the key cached, rejects it on its very next call', async () => {
    const { keyId, secret } = await json('create', '--account', account);
    expect(await authCode(secret)).toBe('accepted');
    expect(await authCode(secret)).toBe('accepted'); // from the cache now
    const r = await json('revoke', '--key', keyId, '--reason', 'leaked in a log');
    expect(r).toMatchObject({ keyId, status: 'revoked', changed: true });
    expect(r.listeners).toBeGreaterThanOrEqual(1);
    expect(r.acknowledged).toBe(r.listeners);
    expect(await authCode(secret)).toBe('key_revoked');
    const again = await tollgate('revoke', '--key', keyId);
    expect(again).toMatchObject({ code: 0 }); // on failure, shows its stderr
    expect(again.stdout).toMatch(/already revoked; nothing changed/);
  });

  it('regenerate: a new secret, printed once; the old one is rejected at once', async () => {
    const { keyId, secret } = await json('create', '--account', account);
    await api.authenticate(secret);
    const r = await tollgate('regenerate', '--key', keyId);
    expect(r).toMatchObject({ code: 0 }); // on failure, shows its stderr
    const [fresh]: string[] = r.stdout.match(SECRET) ?? [];
    expect(fresh).toBeDefined();
    expect(fresh).not.toBe(secret);
    expect(r.stderr).toMatch(/^warning: this is the only time the secret is shown/);
    expect(await authCode(secret)).toBe('invalid_api_key');
    expect((await api.authenticate(fresh)).keyId).toBe(keyId);
  });

  it('a limit given and cleared at once, or a spending cap out of range, is bad usage (exit 2), nothing written', async () => {
    const { keyId } = await json('create', '--account', account);
    const before = await eventCount();
    const usage: Array<[string[], RegExp]> = [
      [['--spend-cap', '1', '--no-spend-cap'], /^error: give either --spend-cap or --no-spend-cap, not both$/],
      [['--no-spend-cap', '--spend-cap', '1'], /^error: give either --spend-cap or --no-spend-cap, not both$/],
      [['--rpm', '5', '--no-rpm'], /^error: give either --rpm or --no-rpm, not both$/],
      [['--no-tpm', '--tpm', '5'], /^error: give either --tpm or --no-tpm, not both$/],
      [['--spend-cap', '1000000000.000001'], /^error: --spend-cap: must be at most 1000000000 credits/],
      [['--spend-cap', '99999999999999999999'], /^error: --spend-cap: must be at most 1000000000 credits/],
    ];
    for (const [args, message] of usage) {
      const r = await tollgate('limits', '--key', keyId, ...args);
      expectOneErrorLine(r, message);
      expect(r.code).toBe(2);
    }
    expect(await eventCount()).toBe(before);
    const top = await json('limits', '--key', keyId, '--spend-cap', '1000000000');
    expect(top.limits.spendCap).toBe('1000000000.000000');
  });

  it('bad input: one error line, non-zero exit, nothing written', async () => {
    const { keyId } = await json('create', '--account', account);
    const before = await eventCount();
    const usage: Array<[string[], RegExp]> = [
      [['create'], /--account/],
      [['create', '--account', account, '--project', ''], /--project: must not be empty/],
      [['create', '--account', account, '--name', 'x'.repeat(201)], /--name: is longer than 200/],
      [['limits', '--key', keyId], /nothing to change/],
      [['limits', '--key', keyId, '--models', 'a', '--all-models'], /either --models or --all-models/],
      [['limits', '--key', keyId, '--expires', '2030-01-01', '--no-expiry'], /either --expires or --no-expiry/],
      [['limits', '--key', keyId, '--models', 'a,,b'], /--models: must be model names separated by commas/],
      [['limits', '--key', keyId, '--spend-cap', '-1'], /--spend-cap: must be a number of credits >= 0/],
      [['limits', '--key', keyId, '--spend-cap', '1.0000001'], /--spend-cap/],
      [['limits', '--key', keyId, '--rpm', '1.5'], /--rpm: must be a whole number/],
      [['limits', '--key', keyId, '--expires', 'tomorrow'], /--expires: must be an ISO 8601/],
      [['revoke', '--key', keyId, '--bogus'], /unknown option '--bogus'/],
    ];
    for (const [args, message] of usage) {
      const r = await tollgate(...args);
      expectOneErrorLine(r, message);
      expect(r.code).toBe(2);
    }
    const failures: Array<[string[], RegExp]> = [
      [['create', '--account', randomUUID()], /^error: no account .* \(account_not_found\)$/],
      [['revoke', '--key', randomUUID()], /\(key_not_found\)$/],
      [['regenerate', '--key', randomUUID()], /\(key_not_found\)$/],
      [['list', '--account', randomUUID()], /\(account_not_found\)$/],
    ];
    for (const [args, message] of failures) {
      const r = await tollgate(...args);
      expectOneErrorLine(r, message);
      expect(r.code).toBe(1);
    }
    await tollgate('revoke', '--key', keyId);
    const afterRevoke = await eventCount();
    expect(afterRevoke).toBe(before + 1);
    expectOneErrorLine(await tollgate('limits', '--key', keyId, '--rpm', '5'), /is revoked \(key_revoked\)$/);
    expectOneErrorLine(await tollgate('regenerate', '--key', keyId), /\(key_revoked\)$/);
    expect(await eventCount()).toBe(afterRevoke);
  }, 180_000); // some twenty CLI processes, each booting Nest: slow on a loaded machine
  it('ledger replay rebuilds api_keys from the key streams: a deleted row comes back, a damaged one is repaired, one no stream backs goes', async () => {
    const env = { DATABASE_URL: db.url, REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix };
    const rowOf = async (keyId: string) => (await db.pool.query('SELECT * FROM api_keys WHERE key_id = $1', [keyId])).rows[0];
    const deleted = await json('create', '--account', account, '--name', 'deleted');
    const damaged = await json('create', '--account', account, '--name', 'damaged');
    const [deletedRow, damagedRow] = [await rowOf(deleted.keyId), await rowOf(damaged.keyId)];
    await db.pool.query('DELETE FROM api_keys WHERE key_id = $1', [deleted.keyId]);
    await db.pool.query(`UPDATE api_keys SET status = 'revoked', revoked_at = now(), name = 'tampered' WHERE key_id = $1`, [damaged.keyId]);
    const stray = randomUUID();
    await db.pool.query(
      `INSERT INTO api_keys (key_id, account_id, project, name, hash, prefix, last4, status, version, created_at)
       VALUES ($1, $2, 'default', 'stray', $3, 'tg-abcd', 'wxyz', 'active', 1, now())`,
      [stray, account, randomBytes(32).toString('hex')],
    );
    expect(await authCode(deleted.secret)).toBe('invalid_api_key');
    expect(await authCode(damaged.secret)).toBe('key_revoked');

    const r = await run(process.execPath, [CLI, 'ledger', 'replay', '--json'], env);
    expect(r).toMatchObject({ code: 0 }); // on failure, shows its stderr
    const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM event_streams WHERE stream_id LIKE 'apikey-%'`);
    // `keys create` made each project it was given (found or created by name): their rows stand.
    const projects = (await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM event_streams WHERE stream_id LIKE 'project-%'`)).rows[0].n;
    expect(projects).toBeGreaterThan(0);
    const rebuilt = (out: string, name: string) => (JSON.parse(out) as { rebuilt: Array<{ name: string }> }).rebuilt.find((m) => m.name === name);
    expect(rebuilt(r.stdout, 'api_keys')).toEqual({ name: 'api_keys', rows: rows[0].n, repaired: 3 });
    expect(rebuilt(r.stdout, 'projects')).toEqual({ name: 'projects', rows: projects, repaired: 0 });
    expect(await rowOf(deleted.keyId)).toEqual(deletedRow);
    expect(await rowOf(damaged.keyId)).toEqual(damagedRow);
    expect(await rowOf(stray)).toBeUndefined();
    // The replay told the running instance, which forgets what it had cached of both.
    expect(await authCode(deleted.secret)).toBe('accepted');
    expect(await authCode(damaged.secret)).toBe('accepted');

    // Run again over sound rows: nothing to repair.
    const again = await run(process.execPath, [CLI, 'ledger', 'replay', '--json'], env);
    expect(rebuilt(again.stdout, 'api_keys')).toEqual({ name: 'api_keys', rows: rows[0].n, repaired: 0 });
    expect(rebuilt(again.stdout, 'projects')).toEqual({ name: 'projects', rows: projects, repaired: 0 });
  });
});
