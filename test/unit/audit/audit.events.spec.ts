/**
 * What an audit entry may hold (ids, an action name, small scalars, a reason that is sealed
 * before it is stored) and where it goes: pure functions, no store.
 */
import { AuditError } from '../../../src/audit/domain/audit.errors';
import { AuditEntryInput, auditStream, staffActionRecorded, unscopedReasonKey, validateAuditEntry } from '../../../src/audit/domain/audit.events';

const SUBJECT = '0b6c4a7e-2f0d-4f43-9a55-1f2d3c4b5a69';
const ACTOR = '6a1e7d38-9b5c-4e1f-8a2d-3c4b5a697f10';
const ok: AuditEntryInput = { actor: ACTOR, action: 'users.view', subjectUserId: SUBJECT };

function refusal(input: Partial<AuditEntryInput>): string | undefined {
  try {
    validateAuditEntry({ ...ok, ...input });
  } catch (err) {
    if (err instanceof AuditError) return `${err.code}:${err.details.field}`;
    throw err;
  }
  return undefined;
}

describe('audit entries', () => {
  it('a read about a person: its stream is the subject’s, no reason, details kept', () => {
    const v = validateAuditEntry({ ...ok, subjectUserId: SUBJECT.toUpperCase(), details: { found: true, page: 2 } });
    expect(v).toEqual({ actor: ACTOR, action: 'users.view', subjectUserId: SUBJECT, reason: null, details: { found: true, page: 2 } });
    expect(auditStream(v.subjectUserId, new Date())).toBe(`audit-${SUBJECT}`);
  });

  it('an entry about nobody goes on its month’s stream, its reason under the month’s key', () => {
    const at = new Date('2026-12-31T23:59:59.999Z');
    expect(auditStream(null, at)).toBe('audit-unscoped-2026-12');
    expect(unscopedReasonKey(at)).toBe(unscopedReasonKey(new Date('2026-12-01T00:00:00Z')));
    expect(unscopedReasonKey(at)).not.toBe(unscopedReasonKey(new Date('2027-01-01T00:00:00Z')));
  });

  it('a reason is trimmed; a blank one is no reason; the event carries only the sealed value', () => {
    expect(validateAuditEntry({ ...ok, reason: '  ticket 42\nsee thread  ' }).reason).toBe('ticket 42\nsee thread');
    expect(validateAuditEntry({ ...ok, reason: '   ' }).reason).toBeNull();
    const e = staffActionRecorded(validateAuditEntry({ ...ok, reason: 'secret words' }), {
      auditId: 'a',
      at: new Date('2026-01-02T03:04:05Z'),
      sealedReason: { value: 'v1:x:y:z', sealedFor: SUBJECT },
    });
    expect(e.data).toMatchObject({ reason: 'v1:x:y:z', reasonSealedFor: SUBJECT, at: '2026-01-02T03:04:05.000Z' });
    expect(JSON.stringify(e)).not.toContain('secret words');
  });

  it('actors are user ids or cli:/system: names', () => {
    expect(refusal({ actor: 'cli:ops' })).toBeUndefined();
    expect(refusal({ actor: 'system:retention' })).toBeUndefined();
    expect(refusal({ actor: 'alice@example.com' })).toBe('invalid_audit_entry:actor');
    expect(refusal({ actor: 'cli:' })).toBe('invalid_audit_entry:actor');
    expect(refusal({ actor: 'cli:a b' })).toBe('invalid_audit_entry:actor');
    expect(refusal({ actor: `cli:${'x'.repeat(65)}` })).toBe('invalid_audit_entry:actor');
    expect(refusal({ actor: 42 as never })).toBe('invalid_audit_entry:actor');
  });

  it('actions are area.verb names; subjects are user ids', () => {
    expect(refusal({ action: 'role.grant' })).toBeUndefined();
    expect(refusal({ action: 'payments.refund.issue' })).toBeUndefined();
    for (const action of ['view', 'Users.view', 'users..view', 'users.view!', '', 'a.b.c.d.e']) {
      expect(refusal({ action })).toBe('invalid_audit_entry:action');
    }
    expect(refusal({ subjectUserId: 'someone' })).toBe('invalid_audit_entry:subjectUserId');
    expect(refusal({ subjectUserId: null })).toBeUndefined();
  });

  it('huge or garbled reasons are refused', () => {
    expect(refusal({ reason: 'x'.repeat(1000) })).toBeUndefined();
    expect(refusal({ reason: 'x'.repeat(1001) })).toBe('invalid_audit_entry:reason');
    expect(refusal({ reason: 'bell\u0007' })).toBe('invalid_audit_entry:reason');
    expect(refusal({ reason: 'esc\u001b[2J' })).toBe('invalid_audit_entry:reason');
  });

  it('details are at most 20 short scalars: no objects, arrays, long text or odd names', () => {
    const many = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, i]));
    expect(refusal({ details: many })).toBe('invalid_audit_entry:details');
    expect(refusal({ details: { nested: { email: 'a@b.c' } } as never })).toBe('invalid_audit_entry:details');
    expect(refusal({ details: { list: [1] } as never })).toBe('invalid_audit_entry:details');
    expect(refusal({ details: { text: 'x'.repeat(201) } })).toBe('invalid_audit_entry:details');
    expect(refusal({ details: { n: Number.NaN } })).toBe('invalid_audit_entry:details');
    expect(refusal({ details: { 'bad key': 1 } })).toBe('invalid_audit_entry:details');
    expect(refusal({ details: [] as never })).toBe('invalid_audit_entry:details');
    expect(refusal({ details: { ok: 'x'.repeat(200), n: 1, b: false, z: null } })).toBeUndefined();
  });
});
