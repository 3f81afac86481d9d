/**
 * A restrict and a lift of one data-subject request at once (issue 21) never leave the account
 * restricted with no request saying so, nor the request restricted with the ledger serving: two
 * booted instances on one database (each with its own ledger lanes), the restrict on one and
 * the lift on the other, many rounds. And a restriction left in force on the ledger that the
 * request does not show (what such a race, or a crash, could leave before) is lifted by `lift`.
 */
import { randomUUID } from 'node:crypto';
import { SubjectRequestsRepository } from '../../../src/compliance/requests/application/subject-requests.repository';
import { SubjectRequestsService } from '../../../src/compliance/requests/application/subject-requests.service';
import { foldSubjectRequest, restrictionIdOf, subjectRequestStream } from '../../../src/compliance/requests/domain/subject-request';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { EVENT_STORE, EventStore } from '../../../src/platform/event-store/event-store.port';
import { signedIn } from '../../support/account-client';
import { Gateway, startGateway } from '../../support/gateway';

describe('restrict and lift at once (two booted instances, real Postgres and Redis)', () => {
  let a: Gateway;
  let b: Gateway;

  beforeAll(async () => {
    a = await startGateway();
    b = await startGateway({ db: a.db });
  }, 120_000);
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  const step = { reason: 'race test', actor: 'cli:test' };
  /** The request's restriction ids in force on the ledger, read afresh. */
  const inForce = async (requestId: string, accountId: string, applied: number) => {
    const { state } = await a.app.get(LedgerService).load(accountId);
    return Array.from({ length: applied }, (_, n) => restrictionIdOf(requestId, n)).filter((id) => state.restrictions.has(id));
  };

  it('many rounds of a restrict on one instance and a lift on the other: the ledger and the request agree after each', async () => {
    const person = await signedIn(a);
    const onA = a.app.get(SubjectRequestsService);
    const onB = b.app.get(SubjectRequestsService);
    const r = await onA.open({ userId: person.userId, kind: 'restriction', details: null, actor: 'self' });
    for (let round = 0; round < 40; round++) {
      // The lift starts a millisecond later each round, so the rounds sweep across the restrict's two steps.
      const [restricted, lifted] = await Promise.allSettled([
        onA.restrict(r.requestId, step),
        new Promise((res) => setTimeout(res, 4 + round)).then(() => onB.lift(r.requestId, step)),
      ]);
      expect(restricted.status).toBe('fulfilled');
      // The lift may come first and find nothing in force (409): that is an answer, not a failure.
      if (lifted.status === 'rejected') expect(lifted.reason).toMatchObject({ code: 'restriction_not_active' });
      const now = await onA.get(r.requestId);
      const ledger = await inForce(r.requestId, person.accountId, now.restrictionsApplied);
      expect({ round, ledger }).toEqual({ round, ledger: now.restrictionId ? [now.restrictionId] : [] });
      if (now.restrictionId) await onB.lift(r.requestId, step);
      expect(await inForce(r.requestId, person.accountId, (await onA.get(r.requestId)).restrictionsApplied)).toEqual([]);
    }
    // Proxy use is back after the last lift: a hold can be placed.
    await a.app.get(LedgerService).execute(person.accountId, { type: 'GrantCredits', data: { grantId: randomUUID(), amount: 1_000_000n, reason: 'race test' } });
    await expect(
      a.app.get(LedgerService).execute(person.accountId, { type: 'PlaceHold', data: { holdId: randomUUID(), amount: 1n, expiresAt: new Date(Date.now() + 60_000).toISOString() } }),
    ).resolves.toBeDefined();
  }, 120_000);

  it('a restriction in force on the ledger that the request shows lifted is lifted by lift, not refused', async () => {
    const person = await signedIn(a);
    const requests = a.app.get(SubjectRequestsService);
    const r = await requests.open({ userId: person.userId, kind: 'restriction', details: null, actor: 'self' });
    const restricted = await requests.restrict(r.requestId, step);
    // What the interleaving left before: the request's lift recorded while the ledger kept the restriction.
    const store = a.app.get<EventStore>(EVENT_STORE);
    await store.append(
      subjectRequestStream(r.requestId),
      [{ id: randomUUID(), type: 'SubjectRequestRestrictionLifted', data: { requestId: r.requestId, restrictionId: restricted.restrictionId, actor: 'cli:test', at: new Date().toISOString() }, metadata: {} }],
      { expectedVersion: restricted.version },
    );
    await a.app.get(SubjectRequestsRepository).write(foldSubjectRequest(await store.readStream(subjectRequestStream(r.requestId)))!);
    expect(await inForce(r.requestId, person.accountId, 1)).toEqual([restricted.restrictionId]);

    const lifted = await requests.lift(r.requestId, step);
    expect(lifted.restrictionId).toBeNull();
    expect(await inForce(r.requestId, person.accountId, 1)).toEqual([]);
    // Nothing left to lift now: 409 as before.
    await expect(requests.lift(r.requestId, step)).rejects.toMatchObject({ code: 'restriction_not_active' });
  }, 60_000);
});
