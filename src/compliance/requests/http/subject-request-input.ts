/** The bodies the account API, the staff API and the CLI share, validated the same way everywhere. */
import { z } from 'zod';
import { MAX_DETAILS_CHARS, MAX_NOTE_CHARS, SUBJECT_REQUEST_KINDS, SUBJECT_REQUEST_OUTCOMES, SUBJECT_REQUEST_STATUSES } from '../domain/subject-request';

// Newlines and tabs are fine in free text; other control characters are not.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;

const text = (max: number, required: string) =>
  z
    .string({ error: `is required: ${required}` })
    .trim()
    .min(1, `is required: ${required}`)
    .max(max, `must be at most ${max} characters`)
    .refine((v) => !CONTROL.test(v), 'must not contain control characters');

export const kindField = z.enum(SUBJECT_REQUEST_KINDS, { error: `must be one of ${SUBJECT_REQUEST_KINDS.join(', ')}` });
export const statusField = z.enum(SUBJECT_REQUEST_STATUSES, { error: `must be one of ${SUBJECT_REQUEST_STATUSES.join(', ')}` });
export const outcomeField = z.enum(SUBJECT_REQUEST_OUTCOMES, { error: `must be one of ${SUBJECT_REQUEST_OUTCOMES.join(', ')}` });
export const detailsField = text(MAX_DETAILS_CHARS, 'say what you ask for');
export const noteField = text(MAX_NOTE_CHARS, 'say what was done (it goes into the audit trail)');
export const reasonField = text(MAX_NOTE_CHARS, 'say why (it goes into the audit trail)');

export const openBody = z.strictObject({ kind: kindField, details: detailsField.optional() });
export const staffOpenBody = z.strictObject({ kind: kindField, details: detailsField.optional(), reason: reasonField.optional() });
export const closeBody = z.strictObject({ outcome: outcomeField, note: noteField });
export const reasonBody = z.strictObject({ reason: reasonField });
export const requestId = z.strictObject({ id: z.uuid({ error: 'must be a data-subject request id' }) });
export const subjectRequestCursor = z.strictObject({ at: z.iso.datetime(), id: z.uuid() });
