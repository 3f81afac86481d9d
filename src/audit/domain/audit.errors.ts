/** Errors of the staff audit trail, with stable codes (see shared/domain-error.ts). */
import { DomainError } from '../../shared/domain-error';

export type AuditErrorCode = 'invalid_audit_entry';

export class AuditError extends DomainError<AuditErrorCode, { field?: string }> {
  override readonly name = 'AuditError';
}
