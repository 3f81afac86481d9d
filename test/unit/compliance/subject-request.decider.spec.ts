/**
 * The data-subject request decider (pure): due 30 days after it was opened, overdue computed at
 * any instant given to it (a moved clock), closed or declined once, restriction applied once per
 * request and lifted only when in force, the outcome `restricted` only for restriction requests.
 */
import {
  DAY_MS,
  SubjectRequest,
  SubjectRequestCommand,
  SubjectRequestError,
  SubjectRequestEvent,
  daysLeft,
  decideSubjectRequest,
  evolveSubjectRequest,
  foldSubjectRequest,
  isOverdue,
  restrictionIdOf,
} from '../../../src/compliance/requests/domain/subject-request';

const T0 = new Date('2026-03-01T10:00:00.000Z');
const ID = '3f8a1c52-2b7e-4c4d-9d0b-2a61f0c8e4b7';
const USER = '0e0a1c52-2b7e-4c4d-9d0b-2a61f0c8e4b7';
const ACCOUNT = '1e0a1c52-2b7e-4c4d-9d0b-2a61f0c8e4b7';
const at = (days: number) => new Date(T0.getTime() + days * DAY_MS);

function history(...steps: Array<[SubjectRequestCommand, Date]>): SubjectRequest {
  let r: SubjectRequest | null = null;
  for (const [command, now] of steps) for (const e of decideSubjectRequest(command, r, now)) r = evolveSubjectRequest(r, e);
  return r as SubjectRequest;
}
const open = (kind: 'access' | 'restriction' = 'access'): [SubjectRequestCommand, Date] => [
  { type: 'Open', data: { requestId: ID, userId: USER, accountId: ACCOUNT, kind, details: 'v1:sealed', openedBy: 'self' } },
  T0,
];
const close = (outcome: 'fulfilled' | 'restricted' = 'fulfilled'): SubjectRequestCommand => ({ type: 'Close', data: { outcome, note: 'v1:note', actor: 'cli:ana' } });
const decline: SubjectRequestCommand = { type: 'Decline', data: { reason: 'v1:why', actor: 'cli:ana' } };
const apply: SubjectRequestCommand = { type: 'ApplyRestriction', data: { actor: 'cli:ana' } };
const lift: SubjectRequestCommand = { type: 'LiftRestriction', data: { actor: 'cli:ana' } };

function refuses(command: SubjectRequestCommand, r: SubjectRequest | null, code: string): void {
  let thrown: unknown;
  try {
    decideSubjectRequest(command, r, at(1));
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(SubjectRequestError);
  expect((thrown as SubjectRequestError).code).toBe(code);
}

describe('data-subject request decider', () => {
  it('opens with a due date 30 days later', () => {
    const events = decideSubjectRequest(open()[0], null, T0);
    expect(events).toEqual([
      {
        type: 'SubjectRequestOpened',
        data: { requestId: ID, userId: USER, accountId: ACCOUNT, kind: 'access', details: 'v1:sealed', openedBy: 'self', openedAt: T0.toISOString(), dueAt: at(30).toISOString() },
      },
    ]);
    const r = foldSubjectRequest(events as Array<{ type: string; data: Record<string, unknown> }>) as SubjectRequest;
    expect(r).toMatchObject({ status: 'open', version: 1n, dueAt: at(30), restrictionId: null });
  });

  it('is overdue only once open past its due date, at whatever instant the clock says', () => {
    const r = history(open());
    expect(isOverdue(r, at(29))).toBe(false);
    expect(isOverdue(r, at(30))).toBe(false); // due at that instant, not past it
    expect(isOverdue(r, new Date(at(30).getTime() + 1))).toBe(true);
    expect(isOverdue(r, at(45))).toBe(true);
    expect(daysLeft(r.dueAt, T0)).toBe(30);
    expect(daysLeft(r.dueAt, new Date(T0.getTime() + 3_600_000))).toBe(30); // 29.96 days: rounded up
    expect(daysLeft(r.dueAt, at(30))).toBe(0);
    expect(daysLeft(r.dueAt, new Date(at(30).getTime() + 3_600_000))).toBe(-1); // an hour late: a day overdue
    expect(daysLeft(r.dueAt, at(31))).toBe(-1);
    expect(daysLeft(r.dueAt, new Date(at(31).getTime() + 3_600_000))).toBe(-1); // a day and an hour late
    expect(daysLeft(r.dueAt, at(32))).toBe(-2);
    // Closed late is not overdue any more.
    const closed = history(open(), [close(), at(40)]);
    expect(isOverdue(closed, at(45))).toBe(false);
  });

  it('closes once: a second close, or a decline after it, is subject_request_closed', () => {
    const r = history(open(), [close(), at(3)]);
    expect(r).toMatchObject({ status: 'closed', outcome: 'fulfilled', sealedNote: 'v1:note', closedBy: 'cli:ana', closedAt: at(3), version: 2n });
    refuses(close(), r, 'subject_request_closed');
    refuses(decline, r, 'subject_request_closed');
    const declined = history(open(), [decline, at(2)]);
    expect(declined).toMatchObject({ status: 'declined', outcome: null, sealedNote: 'v1:why' });
    refuses(close(), declined, 'subject_request_closed');
  });

  it('restricted closes only a restriction request, and only with the restriction in force', () => {
    refuses(close('restricted'), history(open('access')), 'invalid_outcome');
    refuses(close('restricted'), history(open('restriction')), 'restriction_not_active');
    const r = history(open('restriction'), [apply, at(1)], [close('restricted'), at(2)]);
    expect(r).toMatchObject({ status: 'closed', outcome: 'restricted', restrictionId: restrictionIdOf(ID, 0) });
  });

  it('restriction: applied twice is one; lifted only when in force; each new one has a new id; lift works on a closed request', () => {
    const applied = history(open(), [apply, at(1)]);
    expect(applied.restrictionId).toBe(restrictionIdOf(ID, 0));
    expect(decideSubjectRequest(apply, applied, at(2))).toEqual([]);
    refuses(lift, history(open()), 'restriction_not_active');
    const lifted = history(open(), [apply, at(1)], [lift, at(2)]);
    expect(lifted.restrictionId).toBeNull();
    refuses(lift, lifted, 'restriction_not_active');
    const again = history(open(), [apply, at(1)], [lift, at(2)], [apply, at(3)]);
    expect(again.restrictionId).toBe(restrictionIdOf(ID, 1));
    expect(restrictionIdOf(ID, 1)).not.toBe(restrictionIdOf(ID, 0));
    // Closed with the restriction in force: it can still be lifted, not applied anew.
    const closed = history(open('restriction'), [apply, at(1)], [close('restricted'), at(2)]);
    const events = decideSubjectRequest(lift, closed, at(3));
    expect(events).toEqual([{ type: 'SubjectRequestRestrictionLifted', data: { requestId: ID, restrictionId: restrictionIdOf(ID, 0), actor: 'cli:ana', at: at(3).toISOString() } }]);
    refuses(apply, evolveSubjectRequest(closed, events[0]), 'subject_request_closed');
  });

  it('refuses steps on a request that does not exist, and an unknown event type when folding', () => {
    refuses(close(), null, 'subject_request_not_found');
    refuses(open()[0], history(open()), 'subject_request_closed');
    expect(() => foldSubjectRequest([{ type: 'Nope', data: {} }])).toThrow(/unknown/);
    const closedFirst: SubjectRequestEvent = { type: 'SubjectRequestClosed', data: { requestId: ID, outcome: 'fulfilled', note: 'x', actor: 'a', at: T0.toISOString() } };
    expect(() => foldSubjectRequest([closedFirst])).toThrow(/starts with/);
  });
});
