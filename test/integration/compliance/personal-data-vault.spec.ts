import { randomUUID } from 'node:crypto';
import { PersonalDataVault, VaultError } from '../../../src/compliance/personal-data-vault';
import { freshDb, FreshDb } from '../../support/fresh-db';

describe('PersonalDataVault (crypto-shredding, real Postgres)', () => {
  let db: FreshDb;
  let vault: PersonalDataVault;

  beforeAll(async () => {
    db = await freshDb(4);
    vault = new PersonalDataVault(db.pool);
  });
  afterAll(() => db.drop());

  it('round-trips a value, and the stored form does not contain the plaintext', async () => {
    const person = randomUUID();
    const email = 'ada.lovelace+canary-7f3e@example.org';
    const value = await vault.encrypt(person, email);
    expect(value).toMatch(/^v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    expect(value).not.toContain(email);
    expect(value).not.toContain('lovelace');
    expect(Buffer.from(value.split(':')[3], 'base64').toString('latin1')).not.toContain('lovelace');
    expect(await vault.decrypt(person, value)).toBe(email);
  });

  it('uses one key per person, random IVs, and binds a value to its person', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const v1 = await vault.encrypt(a, 'same text');
    const v2 = await vault.encrypt(a, 'same text');
    expect(v1).not.toBe(v2);
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM person_keys WHERE person_id = $1', [a]);
    expect(rows[0].n).toBe(1);
    await vault.encrypt(b, 'other');
    await expect(vault.decrypt(b, v1)).rejects.toMatchObject({ code: 'undecryptable' });
  });

  it('decryptMany opens many values of one person (lists of names), refuses another\'s or a malformed one, and answers nulls once erased', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const plain = Array.from({ length: 50 }, (_, i) => `name ${i} — Zoë 客户 🚀`);
    const sealed = await Promise.all(plain.map((p) => vault.encrypt(a, p)));
    expect(await vault.decryptMany(a, sealed)).toEqual(plain);
    expect(await vault.decryptMany(a, [])).toEqual([]);
    await expect(vault.decryptMany(b, [await vault.encrypt(b, 'mine'), sealed[0]])).rejects.toMatchObject({ code: 'undecryptable' });
    await expect(vault.decryptMany(a, [sealed[0], 'plain text'])).rejects.toMatchObject({ code: 'malformed_value' });
    await vault.erase(a);
    expect(await vault.decryptMany(a, sealed)).toEqual(plain.map(() => null));
  });

  it('detects a tampered value', async () => {
    const person = randomUUID();
    const [v, iv, tag, ct] = (await vault.encrypt(person, 'hello world')).split(':');
    const bytes = Buffer.from(ct, 'base64');
    bytes[0] ^= 1;
    await expect(vault.decrypt(person, [v, iv, tag, bytes.toString('base64')].join(':'))).rejects.toBeInstanceOf(VaultError);
  });

  it('after erase, decrypt gives null, the key is gone, and no new key is made', async () => {
    const person = randomUUID();
    const value = await vault.encrypt(person, 'grace@example.org');
    expect(await vault.erase(person)).toBe(true);
    expect(await vault.decrypt(person, value)).toBeNull();
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM person_keys WHERE person_id = $1', [person]);
    expect(rows[0].n).toBe(0);
    expect(await vault.isErased(person)).toBe(true);
    await expect(vault.encrypt(person, 'again@example.org')).rejects.toMatchObject({ code: 'person_erased' });
    expect(await vault.erase(person)).toBe(false); // idempotent
  });

  it('creates exactly one key when many encrypt for a new person at once', async () => {
    const person = randomUUID();
    const values = await Promise.all(Array.from({ length: 20 }, (_, i) => vault.encrypt(person, `v${i}`)));
    const plain = await Promise.all(values.map((v) => vault.decrypt(person, v)));
    expect(plain).toEqual(values.map((_, i) => `v${i}`));
  });

  it('rejects a person id that is not a uuid and a value that is not a vault value', async () => {
    await expect(vault.encrypt('bob', 'x')).rejects.toMatchObject({ code: 'invalid_person_id' });
    await expect(vault.decrypt(randomUUID(), 'plain text')).rejects.toMatchObject({ code: 'malformed_value' });
  });
});
