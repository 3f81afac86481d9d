/**
 * Key names are sealed for the account holder (src/compliance/account-names.ts), and the proxy's
 * authentication must stay as cheap as before: it never opens a name. Proved on the real
 * Postgres: while the test holds an exclusive lock on the vault's key table (any read of it
 * would wait), a cold authenticator (nothing cached) still authenticates the key; the service's
 * own answers, which do open names, wait for the lock, which shows the lock is real.
 */
import { randomUUID } from 'node:crypto';
import { KeysHarness, keysHarness } from './keys-harness';

describe('key authentication never opens a sealed name (real Postgres)', () => {
  let k: KeysHarness;

  beforeAll(async () => {
    k = await keysHarness();
  });
  afterAll(async () => {
    await k?.close();
  });

  it('authenticates while the vault key table is locked; opening the name waits for it', async () => {
    const accountId = await k.openAccount();
    const userId = randomUUID();
    // The account's holder, as the users read model has them (the vault's person).
    await k.db.pool.query('INSERT INTO users (user_id, account_id, created_at, version) VALUES ($1, $2, now(), 1)', [userId, accountId]);
    const { key, secret } = await k.keys.create({ accountId, project: 'Client Zoë', name: "Zoë's laptop", actor: 'test' });
    expect([key.name, key.project]).toEqual(["Zoë's laptop", 'Client Zoë']);
    const { rows } = await k.db.pool.query<{ name: string; name_owner: string }>('SELECT name, name_owner FROM api_keys WHERE key_id = $1', [key.keyId]);
    expect(rows[0]).toMatchObject({ name: expect.stringMatching(/^v1:/), name_owner: userId });

    const locker = await k.db.pool.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE person_keys IN ACCESS EXCLUSIVE MODE');
      const auth = k.instance('hot-path');
      for (let i = 0; i < 3; i++) expect(await auth.authenticate(secret)).toMatchObject({ keyId: key.keyId, accountId });
      // The control: opening the name reads the vault's key, and waits behind the lock.
      let opened = false;
      const get = k.keys.get(key.keyId).then((r) => ((opened = true), r));
      await new Promise((r) => setTimeout(r, 300));
      expect(opened).toBe(false);
      await locker.query('COMMIT');
      expect((await get)?.name).toBe("Zoë's laptop");
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      locker.release();
    }
  });
});
