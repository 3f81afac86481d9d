/**
 * The pure parts of erasure: the stated rule for unused credit (planCredit), the steps an
 * erasure's stream says are done (foldErasure, nextStep), and the person decider's EraseUser.
 */
import { decideUser, evolveUserAll, initialUserState, UserState } from '../../../src/accounts/domain/user.decider';
import { UserEvent } from '../../../src/accounts/domain/user.events';
import { foldErasure, nextStep, planCredit } from '../../../src/compliance/erasure/domain/erasure';

const c = (n: number) => BigInt(Math.round(n * 1_000_000));
const now = new Date('2026-12-07T12:00:00Z');
const inWindow = new Date('2026-12-20T00:00:00Z');
const past = new Date('2026-12-01T00:00:00Z');

describe('planCredit: refund what is refundable, forfeit the rest', () => {
  it('files a request per purchase within its window and forfeits promotional credit and old purchases', () => {
    const plan = planCredit({
      available: c(40),
      now,
      purchases: [
        { paymentId: 'pi_new', unspent: c(20), refundableUntil: inWindow, refundable: c(20) },
        { paymentId: 'pi_old', unspent: c(5), refundableUntil: past, refundable: c(5) },
      ],
      openRequested: new Map(),
    });
    expect(plan).toEqual({ forfeit: c(20), toRequest: ['pi_new'] });
  });

  it('keeps what open requests will return, and files nothing again for their purchases', () => {
    const plan = planCredit({
      available: c(30),
      now,
      purchases: [{ paymentId: 'pi_a', unspent: c(25), refundableUntil: inWindow, refundable: c(25) }],
      openRequested: new Map([['pi_a', c(10)]]),
    });
    expect(plan).toEqual({ forfeit: c(20), toRequest: [] });
  });

  it('forfeits sub-cent remainders and nothing below zero (credit held by a request in flight is not available)', () => {
    expect(planCredit({ available: c(10.005), now, purchases: [{ paymentId: 'pi', unspent: c(10.005), refundableUntil: inWindow, refundable: c(10) }], openRequested: new Map() })).toEqual({
      forfeit: c(0.005),
      toRequest: ['pi'],
    });
    expect(planCredit({ available: c(3), now, purchases: [{ paymentId: 'pi', unspent: c(8), refundableUntil: inWindow, refundable: c(8) }], openRequested: new Map() })).toEqual({
      forfeit: 0n,
      toRequest: ['pi'],
    });
    expect(planCredit({ available: 0n, now, purchases: [], openRequested: new Map() })).toEqual({ forfeit: 0n, toRequest: [] });
  });

  it('a purchase with nothing refundable (spent, or under a cent) gets no request', () => {
    const plan = planCredit({ available: c(0.004), now, purchases: [{ paymentId: 'pi', unspent: c(0.004), refundableUntil: inWindow, refundable: 0n }], openRequested: new Map() });
    expect(plan).toEqual({ forfeit: c(0.004), toRequest: [] });
  });
});

describe('the erasure stream', () => {
  const started = { type: 'ErasureStarted', data: { erasureId: 'e1', userId: 'u1', accountId: 'a1', actor: 'cli:ops', via: 'cli', at: '2026-12-07T12:00:00Z', auditId: null } };
  const keys = { type: 'KeysRevoked', data: { apiKeys: ['k1'], managementKeys: [], at: '2026-12-07T12:00:01Z' } };
  const credit = { type: 'CreditSettled', data: { forfeited: '1500000', forfeitId: 'x', refundRequests: [{ requestId: 'r1', paymentId: 'pi', amount: '2000000' }], at: '2026-12-07T12:00:02Z' } };
  const done = { type: 'ErasureCompleted', data: { at: '2026-12-07T12:00:03Z', sessionsEnded: 2 } };

  it('runs its steps in order and is done once completed', () => {
    expect(foldErasure([])).toBeNull();
    expect(nextStep(foldErasure([started])!)).toBe('revoke_keys');
    expect(nextStep(foldErasure([started, keys])!)).toBe('settle_credit');
    expect(nextStep(foldErasure([started, keys, credit])!)).toBe('complete');
    const e = foldErasure([started, keys, credit, done])!;
    expect(nextStep(e)).toBe('done');
    expect(e).toMatchObject({ erasureId: 'e1', completedAt: '2026-12-07T12:00:03Z', credit: { forfeited: 1_500_000n }, keysRevoked: { apiKeys: ['k1'] } });
  });

  it('a step recorded twice (two runs racing) counts once, the first standing', () => {
    const again = { ...credit, data: { ...credit.data, forfeited: '9' } };
    expect(foldErasure([started, started, keys, keys, credit, again])!.credit!.forfeited).toBe(1_500_000n);
  });

  it('refuses events it does not know, and steps before the start', () => {
    expect(() => foldErasure([started, { type: 'Bogus', data: {} }])).toThrow(/unknown erasure event/);
    expect(() => foldErasure([keys])).toThrow(/before ErasureStarted/);
  });
});

describe('the person decider: EraseUser', () => {
  const registered: UserEvent[] = [
    { type: 'UserRegistered', data: { userId: 'u1', accountId: 'a1', email: 'v1:sealed', emailHash: 'a'.repeat(64), method: 'magic_link' } },
    { type: 'DisplayNameChanged', data: { displayName: 'v1:name' } },
    { type: 'IdentityLinked', data: { provider: 'github', subjectHash: 'b'.repeat(64), subject: 'v1:subject', linkedAt: '2026-12-01T00:00:00Z' } },
    { type: 'PasskeyRegistered', data: { credentialId: 'cred', publicKey: 'pk', counter: 0, transports: [], name: 'v1:pk', deviceType: 'multiDevice', backedUp: true, registeredAt: '2026-12-01T00:00:00Z' } },
    { type: 'PasswordSet', data: { hash: 'v1:hash' } },
    { type: 'RoleGranted', data: { role: 'compliance', by: 'cli:ops', reason: 'audit:x' } },
  ];
  const erase = { type: 'EraseUser' as const, data: { erasureId: 'e1', at: '2026-12-07T12:00:00Z' } };

  it('drops every personal field, identity, passkey, password and role, keeping the ids', () => {
    const state = evolveUserAll(registered);
    const events = decideUser(erase, state);
    expect(events).toEqual([{ type: 'UserErased', data: erase.data }]);
    const after: UserState = evolveUserAll(events, state);
    expect(after).toMatchObject({ registered: true, erased: true, userId: 'u1', accountId: 'a1', email: null, emailHash: null, displayName: null, identities: [], passwordHash: null, lastSignInAt: null });
    expect(after.passkeys.size).toBe(0);
    expect(after.roles.size).toBe(0);
  });

  it('erasing twice appends nothing; registering again is a retry; anything else is user_not_found', () => {
    const after = evolveUserAll([...registered, { type: 'UserErased', data: erase.data }]);
    expect(decideUser(erase, after)).toEqual([]);
    expect(decideUser({ type: 'RegisterUser', data: { userId: 'u1', accountId: 'a1', email: null, emailHash: null, method: 'magic_link' } }, after)).toEqual([]);
    expect(() => decideUser({ type: 'ChangeDisplayName', data: { displayName: 'v1:x' } }, after)).toThrow(expect.objectContaining({ code: 'user_not_found' }));
    expect(() => decideUser({ type: 'RecordSignIn', data: { method: 'magic_link', at: 'x', ip: null, userAgent: null } }, after)).toThrow(expect.objectContaining({ code: 'user_not_found' }));
  });

  it('nobody unregistered can be erased', () => {
    expect(() => decideUser(erase, initialUserState())).toThrow(expect.objectContaining({ code: 'user_not_found' }));
  });
});
