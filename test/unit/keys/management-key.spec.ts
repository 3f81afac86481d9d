/**
 * Management keys, the pure part: the secret's shape (made by the API keys' generator with its
 * own prefix, so never mistaken for an API key) and the decider.
 */
import { randomBytes } from 'node:crypto';
import { isWellFormedSecret } from '../../../src/keys/domain/api-key-secret';
import {
  ManagementKeyCommand,
  ManagementKeyError,
  ManagementKeyEvent,
  decideManagementKey,
  describeManagementSecret,
  evolveManagementKey,
  generateManagementSecret,
  initialManagementKeyState,
  isWellFormedManagementSecret,
} from '../../../src/keys/management/management-key';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const secret = generateManagementSecret(randomBytes);
const parts = describeManagementSecret(secret);
const create: ManagementKeyCommand = { type: 'CreateManagementKey', data: { keyId: 'm1', accountId: 'a1', userId: 'u1', name: 'deploy', ...parts } };
const revoke: ManagementKeyCommand = { type: 'RevokeManagementKey', data: { keyId: 'm1' } };
const fold = (events: ManagementKeyEvent[]) => events.reduce(evolveManagementKey, initialManagementKeyState());
const when = (history: ManagementKeyEvent[], c: ManagementKeyCommand) => decideManagementKey(c, fold(history), { now: NOW });

describe('the management key secret', () => {
  it('is tg-mgmt- and 40 base62 characters, not an API key, displayed by its prefix and last 4', () => {
    expect(secret).toMatch(/^tg-mgmt-[0-9A-Za-z]{40}$/);
    expect(isWellFormedManagementSecret(secret)).toBe(true);
    expect(isWellFormedSecret(secret)).toBe(false); // the proxy refuses it as no API key
    expect(parts.prefix).toBe(secret.slice(0, 12));
    expect(parts.last4).toBe(secret.slice(-4));
    expect(parts.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(isWellFormedManagementSecret(`${secret}x`)).toBe(false);
    expect(isWellFormedManagementSecret(secret.replace('tg-mgmt-', 'tg-'))).toBe(false);
  });
});

describe('the management key decider', () => {
  const created = when([], create);

  it('creates once; the same creation again is a retry, another one an error', () => {
    expect(created).toEqual([{ type: 'ManagementKeyCreated', data: { ...create.data, createdAt: NOW.toISOString() } }]);
    expect(when(created, create)).toEqual([]);
    expect(() => when(created, { ...create, data: { ...create.data, hash: 'b'.repeat(64) } })).toThrow(ManagementKeyError);
  });

  it('refuses a secret in place of its hash, a huge name, a missing user', () => {
    const bad = (over: object) => () => when([], { type: 'CreateManagementKey', data: { ...create.data, ...over } });
    expect(bad({ hash: secret })).toThrow(/hash, prefix and last4/);
    expect(bad({ prefix: 'tg-AbCd' })).toThrow(/hash, prefix and last4/);
    expect(bad({ name: 'x'.repeat(201) })).toThrow(/at most 200/);
    expect(bad({ userId: '' })).toThrow(/a user/);
  });

  it('revokes once and for good; an unknown key is not found', () => {
    const revoked = when(created, revoke);
    expect(revoked).toEqual([{ type: 'ManagementKeyRevoked', data: { keyId: 'm1', revokedAt: NOW.toISOString() } }]);
    expect(when([...created, ...revoked], revoke)).toEqual([]);
    expect(fold([...created, ...revoked]).revokedAt).toBe(NOW.toISOString());
    let code = '';
    try {
      when([], revoke);
    } catch (err) {
      code = (err as ManagementKeyError).code;
    }
    expect(code).toBe('management_key_not_found');
  });
});

describe('ManagementKeyCreated of both shapes (names sealed since migration 027)', () => {
  it('folds an older plain-text name with no owner, a newer sealed one with its owner', () => {
    const [plain] = when([], create);
    expect(fold([plain])).toMatchObject({ name: create.data.name, nameOwner: null });
    if (plain.type !== 'ManagementKeyCreated') throw new Error('expected ManagementKeyCreated');
    const owner = '0b5c2a52-4f4e-4d55-9b8a-2f0b3f7f8c11';
    expect(fold([{ type: 'ManagementKeyCreated', data: { ...plain.data, name: 'v1:aaa:bbb:ccc', nameOwner: owner } }])).toMatchObject({ name: 'v1:aaa:bbb:ccc', nameOwner: owner });
  });
});
