/**
 * The API key decider: given the key's history (folded with the real evolveKey), when a
 * command, then these events, or this error code.
 */
import { ApiKeyCommand, decideKey, evolveKeyAll } from '../../../src/keys/domain/api-key.decider';
import { ApiKeyEvent, KeyLimits, decodeKeyEvent, encodeKeyEvent } from '../../../src/keys/domain/api-key.events';
import { KeyError, KeyErrorCode } from '../../../src/keys/domain/key.errors';

const NOW = new Date('2025-06-01T12:00:00.000Z');
const KEY = 'key-1';
const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);
const partsA = { hash: HASH_A, prefix: 'tg-AbC1', last4: 'wxYz' };
const partsB = { hash: HASH_B, prefix: 'tg-QrS2', last4: '9876' };

const create = (over: Partial<Extract<ApiKeyCommand, { type: 'CreateKey' }>['data']> = {}): ApiKeyCommand => ({
  type: 'CreateKey',
  data: { keyId: KEY, accountId: 'acc-1', project: 'default', name: 'ci', ...partsA, ...over },
});
const revoke = (reason = 'leaked'): ApiKeyCommand => ({ type: 'RevokeKey', data: { keyId: KEY, reason } });
const regenerate = (parts = partsB): ApiKeyCommand => ({ type: 'RegenerateKey', data: { keyId: KEY, ...parts } });
const limits = (patch: Partial<KeyLimits>, changeId = 'c1'): ApiKeyCommand => ({ type: 'ChangeKeyLimits', data: { keyId: KEY, changeId, limits: patch } });

const created: ApiKeyEvent = {
  type: 'KeyCreated',
  data: { keyId: KEY, accountId: 'acc-1', project: 'default', name: 'ci', ...partsA, createdAt: '2025-05-01T00:00:00.000Z' },
};
const revoked: ApiKeyEvent = { type: 'KeyRevoked', data: { keyId: KEY, reason: 'leaked', revokedAt: '2025-05-02T00:00:00.000Z' } };
const limitsChanged = (l: Partial<KeyLimits>): ApiKeyEvent => ({
  type: 'KeyLimitsChanged',
  data: { keyId: KEY, models: null, spendCapMicros: null, expiresAt: null, rpm: null, tpm: null, ...l },
});

function when(history: ApiKeyEvent[], command: ApiKeyCommand): ApiKeyEvent[] {
  return decideKey(command, evolveKeyAll(history), { now: NOW });
}

function throwsCode(history: ApiKeyEvent[], command: ApiKeyCommand, code: KeyErrorCode): void {
  let thrown: unknown;
  try {
    thrown = new Error(`expected ${code}, got events ${JSON.stringify(when(history, command), (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))}`);
  } catch (err) {
    thrown = err;
  }
  if (!(thrown instanceof KeyError)) throw thrown;
  expect(thrown.code).toBe(code);
}

describe('CreateKey', () => {
  it('creates the key, stamped with the time given', () => {
    expect(when([], create())).toEqual([{ type: 'KeyCreated', data: { ...create().data, createdAt: NOW.toISOString() } }]);
  });

  it('needs an account', () => {
    throwsCode([], create({ accountId: '' }), 'invalid_command');
    throwsCode([], create({ accountId: '   ' }), 'invalid_command');
  });

  it('refuses a malformed hash or display parts (the secret itself must never be passed as them)', () => {
    throwsCode([], create({ hash: 'A'.repeat(64) }), 'invalid_command');
    throwsCode([], create({ hash: 'tg-' + 'a'.repeat(40) }), 'invalid_command');
    throwsCode([], create({ prefix: 'tg-' + 'a'.repeat(40) }), 'invalid_command');
    throwsCode([], create({ last4: 'abcde' }), 'invalid_command');
  });

  it('refuses an empty project, an over-long name and control characters', () => {
    throwsCode([], create({ project: '' }), 'invalid_command');
    throwsCode([], create({ name: 'x'.repeat(201) }), 'invalid_command');
    throwsCode([], create({ name: 'a\nb' }), 'invalid_command');
    expect(when([], create({ name: '' }))).toHaveLength(1); // a name is optional
  });

  it('is a no-op when retried with the same secret; a different secret under the same id is refused', () => {
    expect(when([created], create())).toEqual([]);
    throwsCode([created], create(partsB), 'key_exists');
  });
});

describe('RevokeKey', () => {
  it('revokes an active key', () => {
    expect(when([created], revoke())).toEqual([{ type: 'KeyRevoked', data: { keyId: KEY, reason: 'leaked', revokedAt: NOW.toISOString() } }]);
  });

  it('revoking twice is a no-op', () => {
    expect(when([created, revoked], revoke('again'))).toEqual([]);
  });

  it('an unknown key is key_not_found; a reason is required', () => {
    throwsCode([], revoke(), 'key_not_found');
    throwsCode([created], revoke(' '), 'invalid_command');
  });
});

describe('RegenerateKey', () => {
  it('replaces the hash and display parts in one event', () => {
    const events = when([created], regenerate());
    expect(events).toEqual([{ type: 'KeyRegenerated', data: { keyId: KEY, ...partsB, regeneratedAt: NOW.toISOString() } }]);
    const state = evolveKeyAll([created, ...events]);
    expect(state).toMatchObject({ hash: HASH_B, prefix: 'tg-QrS2', last4: '9876', status: 'active', accountId: 'acc-1' });
  });

  it('keeps the limits of the key', () => {
    const history = [created, limitsChanged({ rpm: 10 })];
    const state = evolveKeyAll([...history, ...when(history, regenerate())]);
    expect(state.limits.rpm).toBe(10);
  });

  it('a retry of the same regeneration is a no-op', () => {
    const history = [created, ...when([created], regenerate())];
    expect(when(history, regenerate())).toEqual([]);
  });

  it('a revoked key cannot be regenerated; an unknown one is not found', () => {
    throwsCode([created, revoked], regenerate(), 'key_revoked');
    throwsCode([], regenerate(), 'key_not_found');
  });
});

describe('ChangeKeyLimits', () => {
  it('emits the full set of limits, with what the patch leaves out unchanged', () => {
    const history = [created, limitsChanged({ rpm: 60, models: ['gpt-4o'] })];
    expect(when(history, limits({ spendCapMicros: 5_000_000n }))).toEqual([
      limitsChanged({ rpm: 60, models: ['gpt-4o'], spendCapMicros: 5_000_000n }),
    ]);
  });

  it('null removes a limit', () => {
    const history = [created, limitsChanged({ rpm: 60, models: ['gpt-4o'], expiresAt: '2026-01-01T00:00:00.000Z' })];
    expect(when(history, limits({ models: null, expiresAt: null }))).toEqual([limitsChanged({ rpm: 60 })]);
  });

  it('a change that changes nothing appends nothing', () => {
    const history = [created, limitsChanged({ rpm: 60, models: ['a', 'b'] })];
    expect(when(history, limits({ rpm: 60 }))).toEqual([]);
    expect(when(history, limits({ models: ['a', 'b', 'a'] }))).toEqual([]); // deduplicated
    expect(when([created], limits({ models: null }))).toEqual([]);
  });

  it('normalises the expiry instant, so equal instants compare equal', () => {
    const [e] = when([created], limits({ expiresAt: '2026-01-01T01:00:00+01:00' }));
    expect(e).toEqual(limitsChanged({ expiresAt: '2026-01-01T00:00:00.000Z' }));
    expect(when([created, e], limits({ expiresAt: '2026-01-01T00:00:00Z' }))).toEqual([]);
  });

  it.each<[string, Partial<KeyLimits>]>([
    ['an empty allowlist', { models: [] }],
    ['an empty model name', { models: ['gpt-4o', ' '] }],
    ['a negative cap', { spendCapMicros: -1n }],
    ['a cap past bigint columns', { spendCapMicros: 2n ** 63n }],
    ['a cap past the ledger bound of 10^15 µcr', { spendCapMicros: 10n ** 15n + 1n }],
    ['a date that is not one', { expiresAt: 'soon' }],
    ['rpm 0', { rpm: 0 }],
    ['fractional tpm', { tpm: 1.5 }],
    ['rpm past int4', { rpm: 2 ** 31 }],
  ])('refuses %s', (_what, patch) => {
    throwsCode([created], limits(patch), 'invalid_command');
  });

  it('a revoked key cannot change; an unknown one is not found', () => {
    throwsCode([created, revoked], limits({ rpm: 1 }), 'key_revoked');
    throwsCode([], limits({ rpm: 1 }), 'key_not_found');
  });
});

describe('evolveKey', () => {
  it('folds a history into the state a row is written from', () => {
    const state = evolveKeyAll([created, limitsChanged({ tpm: 1000, spendCapMicros: 7n }), revoked]);
    expect(state).toMatchObject({
      exists: true,
      keyId: KEY,
      accountId: 'acc-1',
      status: 'revoked',
      revokedAt: '2025-05-02T00:00:00.000Z',
      limits: { models: null, spendCapMicros: 7n, expiresAt: null, rpm: null, tpm: 1000 },
    });
  });
});

describe('encodeKeyEvent / decodeKeyEvent', () => {
  it('stores the cap as a decimal string and reads it back as bigint', () => {
    const e = limitsChanged({ spendCapMicros: 12_345_678_901_234_567n });
    const stored = encodeKeyEvent(e);
    expect(stored.data.spendCapMicros).toBe('12345678901234567');
    expect(JSON.parse(JSON.stringify(stored.data)).spendCapMicros).toBe('12345678901234567');
    expect(decodeKeyEvent(stored.type, stored.data)).toEqual(e);
    expect(decodeKeyEvent('KeyLimitsChanged', encodeKeyEvent(limitsChanged({})).data)).toEqual(limitsChanged({}));
  });

  it('an unknown type is an error', () => {
    expect(() => decodeKeyEvent('KeyStolen', {})).toThrow(/unknown api key event type KeyStolen/);
  });
});

describe('MoveKeyToProject (the start step gives an old key its project)', () => {
  const move = (projectId: string): ApiKeyCommand => ({ type: 'MoveKeyToProject', data: { keyId: KEY, projectId } });

  it('moves a key without a project, revoked ones too; again to the same project is a no-op', () => {
    const moved: ApiKeyEvent = { type: 'KeyMovedToProject', data: { keyId: KEY, projectId: 'p1' } };
    expect(when([created], move('p1'))).toEqual([moved]);
    expect(when([created, revoked], move('p1'))).toEqual([moved]);
    expect(when([created, moved], move('p1'))).toEqual([]);
    expect(evolveKeyAll([created, moved]).projectId).toBe('p1');
  });

  it('never moves a key that has a project to another', () => {
    throwsCode([created, { type: 'KeyMovedToProject', data: { keyId: KEY, projectId: 'p1' } }], move('p2'), 'invalid_command');
    throwsCode([{ ...created, data: { ...created.data, projectId: 'p1' } }], move('p2'), 'invalid_command');
    throwsCode([], move('p1'), 'key_not_found');
    throwsCode([created], move(''), 'invalid_command');
  });

  it('a key created in a project has it from its first event', () => {
    const [e] = when([], create({ projectId: 'p9' }));
    expect(e).toMatchObject({ type: 'KeyCreated', data: { projectId: 'p9', project: 'default' } });
    expect(evolveKeyAll([e]).projectId).toBe('p9');
    expect(evolveKeyAll([created]).projectId).toBeNull();
    expect(decodeKeyEvent('KeyMovedToProject', { keyId: KEY, projectId: 'p1' })).toEqual({ type: 'KeyMovedToProject', data: { keyId: KEY, projectId: 'p1' } });
  });
});

describe('KeyCreated of both shapes (names sealed since migration 027)', () => {
  it('an older event holds plain text: the state says so with no name owner', () => {
    expect(evolveKeyAll([created])).toMatchObject({ name: 'ci', project: 'default', nameOwner: null });
  });

  it('a newer event holds vault values for its owner: folded as stored, never opened here', () => {
    const owner = '0b5c2a52-4f4e-4d55-9b8a-2f0b3f7f8c11';
    const sealed: ApiKeyEvent = { type: 'KeyCreated', data: { ...created.data, name: 'v1:aaa:bbb:ccc', project: 'v1:ddd:eee:fff', nameOwner: owner } };
    const stored = decodeKeyEvent(sealed.type, encodeKeyEvent(sealed).data);
    expect(evolveKeyAll([stored, revoked])).toMatchObject({ name: 'v1:aaa:bbb:ccc', project: 'v1:ddd:eee:fff', nameOwner: owner, status: 'revoked' });
  });
});
