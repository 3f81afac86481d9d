/**
 * KeysService on the real Postgres event store and Redis: the stream, the api_keys row written
 * from it (read-your-writes, only forward), reconcile after a crash between the two, and the
 * promise that the secret is stored nowhere.
 */
import { randomUUID } from 'node:crypto';
import { KeyError } from '../../../src/keys/domain/key.errors';
import { apiKeyStream } from '../../../src/keys/domain/api-key.events';
import { evolveKeyAll } from '../../../src/keys/domain/api-key.decider';
import { KeysService } from '../../../src/keys/application/keys.service';
import { KeysHarness, keysHarness } from './keys-harness';

const actor = 'test';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof KeyError) return err.code;
    throw err;
  }
  throw new Error('expected a KeyError');
}

describe('KeysService (real Postgres and Redis)', () => {
  let h: KeysHarness;
  let account: string;
  const count = async (sql: string, params: unknown[] = []) => (await h.db.pool.query<{ n: number }>(sql, params)).rows[0].n;

  beforeAll(async () => {
    h = await keysHarness();
    account = await h.openAccount();
  });
  afterAll(() => h?.close());

  it('create: one KeyCreated on apikey-<id>, and the row at once, at the stream version', async () => {
    const { key, secret } = await h.keys.create({ accountId: account, project: 'web', name: 'ci', actor });
    expect(secret).toMatch(/^tg-[0-9A-Za-z]{40}$/);
    expect(key).toMatchObject({ accountId: account, project: 'web', name: 'ci', status: 'active', version: 1n, prefix: secret.slice(0, 7), last4: secret.slice(-4) });
    const events = await h.store.readStream(apiKeyStream(key.keyId));
    expect(events.map((e) => e.type)).toEqual(['KeyCreated']);
    expect(events[0].metadata).toMatchObject({ actor, command: 'CreateKey' });
    const defaults = await h.keys.create({ accountId: account, actor });
    expect(defaults.key).toMatchObject({ project: 'default', name: '' });
  });

  it('an unknown or missing account is refused, and nothing is written', async () => {
    const before = await count('SELECT count(*)::int AS n FROM events');
    expect(await codeOf(h.keys.create({ accountId: randomUUID(), actor }))).toBe('account_not_found');
    expect(await codeOf(h.keys.create({ accountId: ' ', actor }))).toBe('invalid_command');
    expect(await count('SELECT count(*)::int AS n FROM events')).toBe(before);
  });

  it('unknown keys are key_not_found for every change', async () => {
    const keyId = randomUUID();
    expect(await codeOf(h.keys.revoke({ keyId, actor }))).toBe('key_not_found');
    expect(await codeOf(h.keys.regenerate({ keyId, actor }))).toBe('key_not_found');
    expect(await codeOf(h.keys.changeLimits({ keyId, limits: { rpm: 1 }, actor }))).toBe('key_not_found');
  });

  it('revoke: row revoked; revoking again appends nothing; a revoked key cannot change', async () => {
    const { key } = await h.keys.create({ accountId: account, actor });
    const first = await h.keys.revoke({ keyId: key.keyId, reason: 'leaked', actor });
    expect(first).toMatchObject({ changed: true, key: { status: 'revoked', version: 2n } });
    expect(first.key.revokedAt).toBeInstanceOf(Date);
    const again = await h.keys.revoke({ keyId: key.keyId, actor });
    expect(again).toMatchObject({ changed: false, key: { status: 'revoked', version: 2n } });
    expect(await codeOf(h.keys.changeLimits({ keyId: key.keyId, limits: { rpm: 5 }, actor }))).toBe('key_revoked');
    expect(await codeOf(h.keys.regenerate({ keyId: key.keyId, actor }))).toBe('key_revoked');
    expect((await h.store.readStream(apiKeyStream(key.keyId))).map((e) => e.type)).toEqual(['KeyCreated', 'KeyRevoked']);
  });

  it('limits: a patch over the current limits, the cap stored exactly; the same change id again is a no-op', async () => {
    const { key } = await h.keys.create({ accountId: account, actor });
    const cap = 999_999_999_999_999n; // the largest cap under the ledger's 10^15 µcr bound, every digit kept
    const a = await h.keys.changeLimits({ keyId: key.keyId, limits: { models: ['gpt-4o', 'claude-sonnet-4'], spendCapMicros: cap, rpm: 60 }, actor });
    expect(a.changed).toBe(true);
    const b = await h.keys.changeLimits({ keyId: key.keyId, limits: { rpm: null, tpm: 10_000, expiresAt: '2030-01-01T00:00:00Z' }, changeId: 'c-1', actor });
    expect(b.key).toMatchObject({ models: ['gpt-4o', 'claude-sonnet-4'], spendCapMicros: cap, rpm: null, tpm: 10_000, version: 3n });
    expect(b.key.expiresAt?.toISOString()).toBe('2030-01-01T00:00:00.000Z');
    const retry = await h.keys.changeLimits({ keyId: key.keyId, limits: { rpm: null, tpm: 10_000, expiresAt: '2030-01-01T00:00:00Z' }, changeId: 'c-1', actor });
    expect(retry).toMatchObject({ changed: false, key: { version: 3n } });
    const stored = await h.db.pool.query("SELECT data FROM events WHERE type = 'KeyLimitsChanged' AND stream_id = $1 ORDER BY stream_version", [apiKeyStream(key.keyId)]);
    expect(stored.rows[0].data.spendCapMicros).toBe(cap.toString());
  });

  it('regenerate: same key id, account and limits; a new hash and display parts', async () => {
    const { key, secret } = await h.keys.create({ accountId: account, actor });
    await h.keys.changeLimits({ keyId: key.keyId, limits: { rpm: 7 }, actor });
    const r = await h.keys.regenerate({ keyId: key.keyId, actor });
    expect(r.secret).not.toBe(secret);
    expect(r.key).toMatchObject({ keyId: key.keyId, accountId: account, rpm: 7, status: 'active', version: 3n, last4: r.secret.slice(-4) });
    expect(r.key.hash).not.toBe(key.hash);
  });

  it('concurrent changes of one key from two processes all land; the row ends at the stream version', async () => {
    const { key } = await h.keys.create({ accountId: account, actor });
    const other = h.service();
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? other : h.keys).changeLimits({ keyId: key.keyId, limits: { rpm: i + 1 }, actor })),
    );
    const version = await h.store.streamVersion(apiKeyStream(key.keyId));
    expect(version).toBe(11n);
    const row = await h.repo.findById(key.keyId);
    expect(row?.version).toBe(version);
    const folded = evolveKeyAll((await h.store.readStream(apiKeyStream(key.keyId))).map((e) => ({ type: e.type, data: e.data }) as never));
    expect(row?.rpm).toBe(folded.limits.rpm);
  });

  it('the row only moves forward: an upsert from an older version changes nothing', async () => {
    const { key } = await h.keys.create({ accountId: account, actor });
    await h.keys.revoke({ keyId: key.keyId, actor });
    const events = await h.store.readStream(apiKeyStream(key.keyId));
    const atCreation = evolveKeyAll([{ type: 'KeyCreated', data: events[0].data } as never]);
    expect(await h.repo.upsert(atCreation, 1n)).toBe(false);
    expect((await h.repo.findById(key.keyId))?.status).toBe('revoked');
  });

  it('reconcile rewrites a row that was deleted or left behind its stream, and leaves current rows alone', async () => {
    const { key: gone } = await h.keys.create({ accountId: account, actor });
    const { key: stale } = await h.keys.create({ accountId: account, actor });
    await h.keys.revoke({ keyId: stale.keyId, actor });
    expect(await h.keys.reconcile()).toBe(0);
    // A crash between append and upsert: the row is missing, or still says what it said before.
    await h.db.pool.query('DELETE FROM api_keys WHERE key_id = $1', [gone.keyId]);
    await h.db.pool.query("UPDATE api_keys SET status = 'active', revoked_at = NULL, version = 1 WHERE key_id = $1", [stale.keyId]);
    expect(await h.keys.reconcile()).toBe(2);
    expect(await h.repo.findById(gone.keyId)).toMatchObject({ status: 'active', version: 1n, hash: gone.hash });
    expect(await h.repo.findById(stale.keyId)).toMatchObject({ status: 'revoked', version: 2n });
    expect(await h.keys.reconcile()).toBe(0);
  });

  it('rebuildReadModel (ledger replay) rewrites rows damaged at any version from their streams, and removes rows no stream backs', async () => {
    const { key: ahead } = await h.keys.create({ accountId: account, actor });
    const { key: same } = await h.keys.create({ accountId: account, name: 'same', actor });
    const { key: sound } = await h.keys.create({ accountId: account, actor });
    await h.keys.rebuildReadModel();
    const soundRow = await h.repo.findById(sound.keyId);
    // A row claiming a version its stream never reached, one damaged at its own version, one of no key.
    await h.db.pool.query("UPDATE api_keys SET status = 'revoked', version = 99 WHERE key_id = $1", [ahead.keyId]);
    await h.db.pool.query("UPDATE api_keys SET name = 'tampered' WHERE key_id = $1", [same.keyId]);
    expect(await h.keys.reconcile()).toBe(0); // neither is behind its stream: reconcile cannot see them
    const stray = randomUUID();
    await h.db.pool.query(
      `INSERT INTO api_keys (key_id, account_id, project, name, hash, prefix, last4, status, version, created_at)
       SELECT $1, account_id, project, 'stray', md5($1) || md5($1), prefix, last4, status, 1, created_at FROM api_keys WHERE key_id = $2`,
      [stray, sound.keyId],
    );
    const keys = await count("SELECT count(*)::int AS n FROM event_streams WHERE stream_id LIKE 'apikey-%'");
    expect(await h.keys.rebuildReadModel()).toEqual({ keys, rewritten: 2, removed: 1 });
    expect(await h.repo.findById(ahead.keyId)).toMatchObject({ status: 'active', version: 1n });
    expect(await h.repo.findById(same.keyId)).toMatchObject({ name: 'same', version: 1n });
    expect(await h.repo.findById(stray)).toBeNull();
    expect(await h.repo.findById(sound.keyId)).toEqual(soundRow);
    expect(await h.keys.rebuildReadModel()).toEqual({ keys, rewritten: 0, removed: 0 });
  });

  it('list: the account\'s keys oldest first, repaired first; an unknown account is account_not_found', async () => {
    const other = await h.openAccount();
    const a = await h.keys.create({ accountId: other, name: 'a', actor });
    h.clock.advance(1000); // the test clock stands still otherwise, and equal times order by key id
    const b = await h.keys.create({ accountId: other, name: 'b', actor });
    await h.db.pool.query('DELETE FROM api_keys WHERE key_id = $1', [b.key.keyId]);
    expect((await h.keys.list(other)).map((k) => k.name)).toEqual(['a', 'b']);
    expect((await h.keys.list(other))[0].keyId).toBe(a.key.keyId);
    expect(await codeOf(h.keys.list(randomUUID()))).toBe('account_not_found');
  });

  it('when Redis cannot be told, the change is still written and the command says broadcast_failed', async () => {
    const { key } = await h.keys.create({ accountId: account, actor });
    const cut: KeysService = h.service('redis://127.0.0.1:1', { publishTimeoutMs: 300 });
    expect(await codeOf(cut.revoke({ keyId: key.keyId, actor }))).toBe('broadcast_failed');
    expect((await h.repo.findById(key.keyId))?.status).toBe('revoked');
    // Running it again once Redis is back appends nothing and sends the broadcast.
    expect(await h.keys.revoke({ keyId: key.keyId, actor })).toMatchObject({ changed: false });
  });

  it('the secret is in no event, no metadata and no row: only its hash', async () => {
    const created = await h.keys.create({ accountId: account, name: 'canary', actor });
    const regenerated = await h.keys.regenerate({ keyId: created.key.keyId, actor });
    for (const secret of [created.secret, regenerated.secret]) {
      // The middle of the secret: neither the display prefix nor the last 4, which are kept.
      const middle = secret.slice(7, -4);
      for (const needle of [secret, middle]) {
        expect(await count("SELECT count(*)::int AS n FROM events e WHERE to_jsonb(e)::text LIKE '%' || $1 || '%'", [needle])).toBe(0);
        expect(await count("SELECT count(*)::int AS n FROM api_keys k WHERE to_jsonb(k)::text LIKE '%' || $1 || '%'", [needle])).toBe(0);
        expect(await count("SELECT count(*)::int AS n FROM event_streams s WHERE to_jsonb(s)::text LIKE '%' || $1 || '%'", [needle])).toBe(0);
      }
    }
    // And the hash that is kept is the SHA-256 of the secret.
    const { createHash } = await import('node:crypto');
    expect((await h.repo.findById(created.key.keyId))?.hash).toBe(createHash('sha256').update(regenerated.secret).digest('hex'));
  });
});
