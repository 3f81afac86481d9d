/**
 * The staff audit trail: one `StaffActionRecorded` event per thing a member of staff (or an
 * operator at the CLI) did or looked at. Events about a person go on `audit-<subjectUserId>`,
 * so "every audit event about this person" (the compliance export) is one stream read; the
 * few actions about nobody in particular (a search that found no one, listing the staff) go
 * on `audit-unscoped-<yyyy-mm>`.
 *
 * Ids only, never personal data in clear: the actor is a user id or `cli:<os user>`, the
 * subject a user id, details are small scalars chosen by the caller (ids, counts, flags). The
 * reason is free text that may name people, so it is sealed with the vault key of the subject
 * (erasing the person erases the reasons given about them); an unscoped entry's reason is
 * sealed with a key of its month (`reasonSealedFor` says which key).
 */
import { deterministicId, isUuid } from '../../shared/ids';
import { AuditError } from './audit.errors';

export type AuditDetailValue = string | number | boolean | null;
export type AuditDetails = Readonly<Record<string, AuditDetailValue>>;

export interface StaffActionRecordedData {
  auditId: string;
  /** ISO 8601 instant. */
  at: string;
  actor: string;
  action: string;
  subjectUserId: string | null;
  /** A vault value (never plaintext); null for a read. */
  reason: string | null;
  /** The vault person id whose key sealed the reason. */
  reasonSealedFor: string | null;
  details: AuditDetails;
}

export type AuditEvent = { type: 'StaffActionRecorded'; data: StaffActionRecordedData };

export const AUDIT_STREAM_PREFIX = 'audit-';
const UNSCOPED = 'unscoped-';

/** The stream an entry goes on: its subject's, or its month's when it has none. */
export function auditStream(subjectUserId: string | null, at: Date): string {
  return subjectUserId ? `${AUDIT_STREAM_PREFIX}${subjectUserId.toLowerCase()}` : `${AUDIT_STREAM_PREFIX}${UNSCOPED}${monthOf(at)}`;
}

/** The vault id sealing the reasons of unscoped entries of a month (a key that retention can destroy). */
export function unscopedReasonKey(at: Date): string {
  return deterministicId(`audit:unscoped:${monthOf(at)}`);
}

const monthOf = (at: Date) => at.toISOString().slice(0, 7);

export interface AuditEntryInput {
  actor: string;
  action: string;
  subjectUserId: string | null;
  reason?: string | null;
  details?: AuditDetails;
}

export interface ValidAuditEntry {
  actor: string;
  action: string;
  subjectUserId: string | null;
  reason: string | null;
  details: AuditDetails;
}

export const MAX_REASON_CHARS = 1000;
const MAX_DETAILS = 20;
const MAX_DETAIL_CHARS = 200;
// eslint-disable-next-line no-control-regex
const ACTOR = /^(?:cli|system):[^\s\u0000-\u001f\u007f]{1,64}$/;
const ACTION = /^[a-z][a-z_]{0,31}(?:\.[a-z][a-z_]{0,31}){1,3}$/;
const DETAIL_KEY = /^[a-zA-Z][a-zA-Z0-9_]{0,39}$/;
// Newlines and tabs are fine in a reason; other control characters would garble a terminal.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;

const invalid = (field: string, message: string) => new AuditError('invalid_audit_entry', `audit entry: ${field} ${message}`, { field });

/**
 * Checks and normalises what a caller wants recorded. A reason is trimmed; an empty one is no
 * reason. The caller decides whether its action needs one (every staff write does: the HTTP
 * and CLI schemas require it before anything runs).
 */
export function validateAuditEntry(input: AuditEntryInput): ValidAuditEntry {
  const actor = typeof input.actor === 'string' ? input.actor : '';
  if (!isUuid(actor) && !ACTOR.test(actor)) throw invalid('actor', 'must be a user id or cli:<name> / system:<name>');
  if (typeof input.action !== 'string' || !ACTION.test(input.action)) throw invalid('action', 'must look like area.verb (lower-case words joined by dots)');
  const subject = input.subjectUserId ?? null;
  if (subject !== null && (typeof subject !== 'string' || !isUuid(subject))) throw invalid('subjectUserId', 'must be a user id');
  const reason = typeof input.reason === 'string' ? input.reason.trim() : null;
  if (reason !== null && reason.length > MAX_REASON_CHARS) throw invalid('reason', `must be at most ${MAX_REASON_CHARS} characters`);
  if (reason !== null && CONTROL.test(reason)) throw invalid('reason', 'must not contain control characters');
  const details = input.details ?? {};
  if (typeof details !== 'object' || Array.isArray(details)) throw invalid('details', 'must be an object');
  const entries = Object.entries(details);
  if (entries.length > MAX_DETAILS) throw invalid('details', `must have at most ${MAX_DETAILS} fields`);
  for (const [k, v] of entries) {
    if (!DETAIL_KEY.test(k)) throw invalid('details', `field name ${JSON.stringify(k.slice(0, 50))} is not allowed`);
    const ok = v === null || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && v.length <= MAX_DETAIL_CHARS);
    if (!ok) throw invalid('details', `field ${k} must be a short string, a finite number, a boolean or null`);
  }
  return { actor, action: input.action, subjectUserId: subject?.toLowerCase() ?? null, reason: reason || null, details: { ...details } };
}

/** The event of a validated entry, its reason already sealed (or null). */
export function staffActionRecorded(
  entry: ValidAuditEntry,
  ctx: { auditId: string; at: Date; sealedReason: { value: string; sealedFor: string } | null },
): AuditEvent {
  return {
    type: 'StaffActionRecorded',
    data: {
      auditId: ctx.auditId,
      at: ctx.at.toISOString(),
      actor: entry.actor,
      action: entry.action,
      subjectUserId: entry.subjectUserId,
      reason: ctx.sealedReason?.value ?? null,
      reasonSealedFor: ctx.sealedReason?.sealedFor ?? null,
      details: entry.details,
    },
  };
}

export function isAuditEvent(type: string, data: unknown): data is StaffActionRecordedData {
  return type === 'StaffActionRecorded' && typeof data === 'object' && data !== null && typeof (data as { auditId?: unknown }).auditId === 'string';
}
