import { MAX_PASSKEYS, UserCommand, UserError, UserState, decideUser, evolveUserAll, initialUserState } from '../../../src/accounts/domain/user.decider';
import { PasskeyData, UserEvent } from '../../../src/accounts/domain/user.events';

const userId = '00000000-0000-4000-8000-000000000001';
const registered: UserEvent = {
  type: 'UserRegistered',
  data: { userId, accountId: '00000000-0000-4000-8000-000000000002', email: 'v1:sealed', emailHash: 'a'.repeat(64), method: 'magic_link' },
};
const passkey = (credentialId: string, counter = 0): PasskeyData => ({
  credentialId,
  publicKey: 'pk',
  counter,
  transports: ['internal'],
  name: 'v1:name',
  deviceType: 'multiDevice',
  backedUp: true,
  registeredAt: '2026-12-06T00:00:00.000Z',
});

const run = (state: UserState, ...commands: UserCommand[]): UserState =>
  commands.reduce((s, c) => evolveUserAll(decideUser(c, s), s), state);
const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (err) {
    if (err instanceof UserError) return err.code;
    throw err;
  }
  return undefined;
};

describe('the person decider', () => {
  const person = evolveUserAll([registered]);

  it('registers once; a second registration is a retry that appends nothing', () => {
    expect(person.registered).toBe(true);
    expect(person.emailVerified).toBe(true);
    expect(decideUser({ type: 'RegisterUser', data: { ...registered.data, accountId: 'x', emailHash: null, method: 'cli' } as never }, person)).toEqual([]);
  });

  it('an operator-registered address is not verified until proven, and people from before issue 19 neither', () => {
    const cli = evolveUserAll([{ ...registered, data: { ...registered.data, method: 'cli' } }]);
    expect(cli.emailVerified).toBe(false);
    expect(decideUser({ type: 'VerifyEmail', data: { at: 'now' } }, cli)).toHaveLength(1);
    expect(decideUser({ type: 'VerifyEmail', data: { at: 'now' } }, person)).toEqual([]);
    const old = evolveUserAll([{ type: 'UserRegistered', data: { userId, email: 'v1:x' } }]);
    expect(old.emailVerified).toBe(false);
    expect(old.accountId).toBeNull();
  });

  it('refuses every other command for someone never registered', () => {
    expect(codeOf(() => decideUser({ type: 'VerifyEmail', data: { at: 'now' } }, initialUserState()))).toBe('user_not_found');
    expect(codeOf(() => decideUser({ type: 'RemovePasskey', data: { credentialId: 'a' } }, initialUserState()))).toBe('user_not_found');
  });

  it('links an identity once', () => {
    const link: UserCommand = { type: 'LinkIdentity', data: { provider: 'github', subjectHash: 'h', subject: 'v1:s', linkedAt: 'now' } };
    const linked = run(person, link);
    expect(linked.identities).toHaveLength(1);
    expect(decideUser(link, linked)).toEqual([]);
  });

  it('registers passkeys once each, up to the bound; renames and removes only known ones', () => {
    const one = run(person, { type: 'RegisterPasskey', data: passkey('a') });
    expect(codeOf(() => decideUser({ type: 'RegisterPasskey', data: passkey('a') }, one))).toBe('duplicate_passkey');
    let many = person;
    for (let i = 0; i < MAX_PASSKEYS; i++) many = run(many, { type: 'RegisterPasskey', data: passkey(`k${i}`) });
    expect(codeOf(() => decideUser({ type: 'RegisterPasskey', data: passkey('one-too-many') }, many))).toBe('too_many_passkeys');
    expect(codeOf(() => decideUser({ type: 'RenamePasskey', data: { credentialId: 'nope', name: 'v1:n' } }, one))).toBe('passkey_not_found');
    const removed = run(one, { type: 'RemovePasskey', data: { credentialId: 'a' } });
    expect(removed.passkeys.size).toBe(0);
    expect(codeOf(() => decideUser({ type: 'RemovePasskey', data: { credentialId: 'a' } }, removed))).toBe('passkey_not_found');
  });

  it('moves a counting passkey forward on each sign-in and refuses a counter used before', () => {
    const signIn = (counter: number, credentialId = 'a'): UserCommand => ({
      type: 'RecordSignIn',
      data: { method: 'passkey', at: `t${counter}`, ip: null, userAgent: null, credentialId, counter },
    });
    const counting = run(person, { type: 'RegisterPasskey', data: passkey('a', 5) });
    const after = run(counting, signIn(6));
    expect(after.passkeys.get('a')).toMatchObject({ counter: 6, lastUsedAt: 't6' });
    expect(codeOf(() => decideUser(signIn(6), after))).toBe('passkey_counter');
    expect(codeOf(() => decideUser(signIn(2), after))).toBe('passkey_counter');
    expect(codeOf(() => decideUser(signIn(7, 'unknown'), after))).toBe('passkey_not_found');
    // An authenticator that never counts reports 0 every time.
    const flat = run(person, { type: 'RegisterPasskey', data: passkey('b', 0) });
    expect(decideUser(signIn(0, 'b'), run(flat, signIn(0, 'b')))).toHaveLength(1);
  });

  it('grants a role once with who and why, and revokes only a held one', () => {
    const grant: UserCommand = { type: 'GrantRole', data: { role: 'support', by: 'cli:root', reason: 'on call' } };
    const staff = run(person, grant);
    expect([...staff.roles]).toEqual(['support']);
    expect(decideUser(grant, staff)).toEqual([]);
    expect(codeOf(() => decideUser({ type: 'GrantRole', data: { role: 'support', by: 'cli:root', reason: ' ' } }, person))).toBe('invalid_command');
    expect(codeOf(() => decideUser({ type: 'GrantRole', data: { role: 'owner' as never, by: 'cli:root', reason: 'x' } }, person))).toBe('invalid_command');
    expect(codeOf(() => decideUser({ type: 'RevokeRole', data: { role: 'admin', by: 'cli:root', reason: 'x' } }, staff))).toBe('role_not_held');
    expect([...run(staff, { type: 'RevokeRole', data: { role: 'support', by: 'cli:root', reason: 'left' } }).roles]).toEqual([]);
  });
});
