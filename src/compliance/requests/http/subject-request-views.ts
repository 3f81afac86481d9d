/**
 * How data-subject requests look on the API and in the CLI's --json: times as ISO 8601, the due
 * date with the whole days left (negative once overdue) and an `overdue` flag computed at the
 * moment of the answer, the person's details and the closing note in clear (null once erased).
 */
import { z } from 'zod';
import { SubjectRequestRow } from '../application/subject-requests.repository';
import {
  SUBJECT_REQUEST_KINDS,
  SUBJECT_REQUEST_OUTCOMES,
  SUBJECT_REQUEST_STATUSES,
  SubjectRequest,
  daysLeft,
  isOverdue,
} from '../domain/subject-request';

export const subjectRequestView = z.object({
  id: z.uuid(),
  kind: z.enum(SUBJECT_REQUEST_KINDS),
  details: z.string().nullable().describe("the person's words; null when none were given or the person is erased"),
  status: z.enum(SUBJECT_REQUEST_STATUSES),
  openedAt: z.iso.datetime(),
  openedBySelf: z.boolean().describe('false when staff recorded it for the person'),
  dueAt: z.iso.datetime().describe('30 days after it was opened'),
  daysLeft: z.number().int().nullable().describe('whole days to the due date while open (negative once overdue); null once answered'),
  overdue: z.boolean(),
  outcome: z.enum(SUBJECT_REQUEST_OUTCOMES).nullable().describe('what was done, once closed'),
  note: z.string().nullable().describe('the closing note or the reason it was declined'),
  closedAt: z.iso.datetime().nullable(),
  restricted: z.boolean().describe('a restriction of processing from this request is in force'),
});
export type SubjectRequestView = z.infer<typeof subjectRequestView>;

export const staffSubjectRequestView = subjectRequestView.extend({
  userId: z.uuid(),
  accountId: z.uuid(),
  openedBy: z.string(),
  closedBy: z.string().nullable(),
  restrictionId: z.uuid().nullable(),
});
export type StaffSubjectRequestView = z.infer<typeof staffSubjectRequestView>;

export function viewOf(r: SubjectRequest | SubjectRequestRow, opened: { details: string | null; note: string | null }, now: Date): SubjectRequestView {
  return {
    id: r.requestId,
    kind: r.kind,
    details: opened.details,
    status: r.status,
    openedAt: r.openedAt.toISOString(),
    openedBySelf: r.openedBy === 'self',
    dueAt: r.dueAt.toISOString(),
    daysLeft: r.status === 'open' ? daysLeft(r.dueAt, now) : null,
    overdue: isOverdue(r, now),
    outcome: r.outcome,
    note: opened.note,
    closedAt: r.closedAt?.toISOString() ?? null,
    restricted: r.restrictionId !== null,
  };
}

export function staffViewOf(r: SubjectRequest | SubjectRequestRow, opened: { details: string | null; note: string | null }, now: Date): StaffSubjectRequestView {
  return { ...viewOf(r, opened, now), userId: r.userId, accountId: r.accountId, openedBy: r.openedBy, closedBy: r.closedBy, restrictionId: r.restrictionId };
}
