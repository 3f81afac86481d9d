/**
 * Data-subject requests (issue 21; GDPR Arts. 15-18 and 20): a person asks for access to their
 * data, a copy of it (export), a correction, its deletion, or a restriction of its processing,
 * and the operator must answer within 30 days. Each request is its own stream `dsr-<id>`:
 *
 *   SubjectRequestOpened → SubjectRequestClosed   (outcome: what was done, and a note)
 *                        → SubjectRequestDeclined (a reason)
 *   while open: SubjectRequestRestrictionApplied; at any time: SubjectRequestRestrictionLifted
 *
 * Invariants: a request is closed or declined once (the decision is appended at the version the
 * decider saw, so of two at once one wins); due = opened + 30 days, fixed when opened; at most one
 * restriction of a request is in force at a time, and each one has its own id (the n-th of the
 * request), which the ledger's AccountRestricted carries: an id is applied once and lifted once.
 * The person's details and staff's notes are personal data: the events hold them sealed with the
 * person's vault key (they become noise when the person is erased).
 */
import { DomainError } from '../../../shared/domain-error';
import { assertNever } from '../../../shared/assert-never';
import { deterministicId } from '../../../shared/ids';

export const SUBJECT_REQUEST_PREFIX = 'dsr-';
export const subjectRequestStream = (id: string) => `${SUBJECT_REQUEST_PREFIX}${id}`;

/** The promise of the privacy notes: every request answered within this many days of being made. */
export const RESPONSE_DAYS = 30;
export const DAY_MS = 86_400_000;
export const MAX_DETAILS_CHARS = 2000;
/** A closing note or a decline reason goes into the staff audit trail too, whose bound this is. */
export const MAX_NOTE_CHARS = 1000;

export const SUBJECT_REQUEST_KINDS = ['access', 'export', 'correction', 'deletion', 'restriction'] as const;
export type SubjectRequestKind = (typeof SUBJECT_REQUEST_KINDS)[number];
export const SUBJECT_REQUEST_STATUSES = ['open', 'closed', 'declined'] as const;
export type SubjectRequestStatus = (typeof SUBJECT_REQUEST_STATUSES)[number];
/** What was done. `restricted` closes a restriction request with the restriction in force (applied then if it was not). */
export const SUBJECT_REQUEST_OUTCOMES = ['fulfilled', 'partially_fulfilled', 'no_data_held', 'restricted'] as const;
export type SubjectRequestOutcome = (typeof SUBJECT_REQUEST_OUTCOMES)[number];

export type SubjectRequestErrorCode = 'subject_request_not_found' | 'subject_request_closed' | 'subject_request_busy' | 'restriction_not_active' | 'invalid_outcome';

export class SubjectRequestError extends DomainError<SubjectRequestErrorCode, Record<string, unknown>> {
  override readonly name = 'SubjectRequestError';
}

export interface SubjectRequestOpenedData {
  requestId: string;
  userId: string;
  accountId: string;
  kind: SubjectRequestKind;
  /** The person's words, sealed with their vault key; null when none were given. */
  details: string | null;
  /** 'self' (the person, on the account API) or the staff actor who recorded it for them. */
  openedBy: string;
  openedAt: string;
  dueAt: string;
}

export type SubjectRequestEvent =
  | { type: 'SubjectRequestOpened'; data: SubjectRequestOpenedData }
  | { type: 'SubjectRequestClosed'; data: { requestId: string; outcome: SubjectRequestOutcome; note: string; actor: string; at: string } }
  | { type: 'SubjectRequestDeclined'; data: { requestId: string; reason: string; actor: string; at: string } }
  | { type: 'SubjectRequestRestrictionApplied'; data: { requestId: string; restrictionId: string; actor: string; at: string } }
  | { type: 'SubjectRequestRestrictionLifted'; data: { requestId: string; restrictionId: string; actor: string; at: string } };

export const SUBJECT_REQUEST_EVENT_TYPES = new Set<string>([
  'SubjectRequestOpened',
  'SubjectRequestClosed',
  'SubjectRequestDeclined',
  'SubjectRequestRestrictionApplied',
  'SubjectRequestRestrictionLifted',
]);

export interface SubjectRequest {
  requestId: string;
  userId: string;
  accountId: string;
  kind: SubjectRequestKind;
  sealedDetails: string | null;
  openedBy: string;
  openedAt: Date;
  dueAt: Date;
  status: SubjectRequestStatus;
  outcome: SubjectRequestOutcome | null;
  /** The closing note or the decline reason, sealed. */
  sealedNote: string | null;
  closedBy: string | null;
  closedAt: Date | null;
  /** The restriction of this request in force on the account, if any. */
  restrictionId: string | null;
  /** How many restrictions this request has applied (the next one's id derives from it). */
  restrictionsApplied: number;
  /** The stream's version: a decision is appended at it. */
  version: bigint;
}

export type SubjectRequestCommand =
  | { type: 'Open'; data: Omit<SubjectRequestOpenedData, 'dueAt' | 'openedAt'> }
  | { type: 'Close'; data: { outcome: SubjectRequestOutcome; note: string; actor: string } }
  | { type: 'Decline'; data: { reason: string; actor: string } }
  | { type: 'ApplyRestriction'; data: { actor: string } }
  | { type: 'LiftRestriction'; data: { actor: string } };

export const dueDate = (openedAt: Date): Date => new Date(openedAt.getTime() + RESPONSE_DAYS * DAY_MS);

/** The id of the request's n-th restriction (0-based): the same on every retry of the same step. */
export const restrictionIdOf = (requestId: string, n: number): string => deterministicId(`dsr:${requestId}:restriction:${n}`);

/** Open and past its due date. */
export const isOverdue = (r: { status: SubjectRequestStatus; dueAt: Date }, now: Date): boolean => r.status === 'open' && now.getTime() > r.dueAt.getTime();

/**
 * Whole days to the due date, rounded up while it is ahead; once it passed, minus the whole days
 * overdue, at least 1 (an hour late is -1, a day and an hour late is -1, two days late is -2).
 */
export function daysLeft(dueAt: Date, now: Date): number {
  const d = (dueAt.getTime() - now.getTime()) / DAY_MS;
  return d >= 0 ? Math.ceil(d) : -Math.max(1, Math.floor(-d));
}

/** decide: the events a command causes on this request (none for a retry), or a SubjectRequestError. */
export function decideSubjectRequest(command: SubjectRequestCommand, r: SubjectRequest | null, now: Date): SubjectRequestEvent[] {
  const at = now.toISOString();
  if (command.type === 'Open') {
    if (r) throw new SubjectRequestError('subject_request_closed', `data-subject request ${r.requestId} exists already`);
    return [{ type: 'SubjectRequestOpened', data: { ...command.data, openedAt: at, dueAt: dueDate(now).toISOString() } }];
  }
  if (!r) throw new SubjectRequestError('subject_request_not_found', 'no such data-subject request');
  const requestId = r.requestId;
  switch (command.type) {
    case 'Close': {
      requireOpen(r);
      const { outcome, note, actor } = command.data;
      if (outcome === 'restricted') {
        if (r.kind !== 'restriction') throw new SubjectRequestError('invalid_outcome', `outcome restricted closes a restriction request; this one is ${r.kind}`, { param: 'outcome' });
        if (!r.restrictionId) throw new SubjectRequestError('restriction_not_active', 'outcome restricted needs the restriction in force: apply it first');
      }
      return [{ type: 'SubjectRequestClosed', data: { requestId, outcome, note, actor, at } }];
    }
    case 'Decline':
      requireOpen(r);
      return [{ type: 'SubjectRequestDeclined', data: { requestId, reason: command.data.reason, actor: command.data.actor, at } }];
    case 'ApplyRestriction':
      if (r.restrictionId) return []; // applied twice: one restriction
      requireOpen(r);
      return [{ type: 'SubjectRequestRestrictionApplied', data: { requestId, restrictionId: restrictionIdOf(requestId, r.restrictionsApplied), actor: command.data.actor, at } }];
    case 'LiftRestriction':
      if (!r.restrictionId) throw new SubjectRequestError('restriction_not_active', `data-subject request ${requestId} has no restriction in force`);
      return [{ type: 'SubjectRequestRestrictionLifted', data: { requestId, restrictionId: r.restrictionId, actor: command.data.actor, at } }];
    default:
      return assertNever(command);
  }
}

function requireOpen(r: SubjectRequest): void {
  if (r.status !== 'open') {
    throw new SubjectRequestError('subject_request_closed', `data-subject request ${r.requestId} is ${r.status} already${r.closedAt ? ` (${r.closedAt.toISOString()})` : ''}`, { status: r.status });
  }
}

export function evolveSubjectRequest(r: SubjectRequest | null, e: SubjectRequestEvent): SubjectRequest {
  if (e.type === 'SubjectRequestOpened') {
    const d = e.data;
    return {
      requestId: d.requestId,
      userId: d.userId,
      accountId: d.accountId,
      kind: d.kind,
      sealedDetails: d.details,
      openedBy: d.openedBy,
      openedAt: new Date(d.openedAt),
      dueAt: new Date(d.dueAt),
      status: 'open',
      outcome: null,
      sealedNote: null,
      closedBy: null,
      closedAt: null,
      restrictionId: null,
      restrictionsApplied: 0,
      version: (r?.version ?? 0n) + 1n,
    };
  }
  if (!r) throw new Error(`data-subject request stream starts with ${e.type}`);
  const version = r.version + 1n;
  switch (e.type) {
    case 'SubjectRequestClosed':
      return { ...r, status: 'closed', outcome: e.data.outcome, sealedNote: e.data.note, closedBy: e.data.actor, closedAt: new Date(e.data.at), version };
    case 'SubjectRequestDeclined':
      return { ...r, status: 'declined', sealedNote: e.data.reason, closedBy: e.data.actor, closedAt: new Date(e.data.at), version };
    case 'SubjectRequestRestrictionApplied':
      return { ...r, restrictionId: e.data.restrictionId, restrictionsApplied: r.restrictionsApplied + 1, version };
    case 'SubjectRequestRestrictionLifted':
      return { ...r, restrictionId: null, version };
    default:
      return assertNever(e);
  }
}

/** Folds a request's stream; null for an empty one. Unknown event types are an error, not a skip. */
export function foldSubjectRequest(events: ReadonlyArray<{ type: string; data: Record<string, unknown> }>): SubjectRequest | null {
  let r: SubjectRequest | null = null;
  for (const raw of events) {
    if (!SUBJECT_REQUEST_EVENT_TYPES.has(raw.type)) throw new Error(`unknown data-subject request event type ${raw.type}`);
    r = evolveSubjectRequest(r, raw as SubjectRequestEvent);
  }
  return r;
}
