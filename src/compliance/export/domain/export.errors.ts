/** The stable codes of data exports, mapped to statuses in platform/http/api-error.filter.ts. */
import { DomainError } from '../../../shared/domain-error';

export type ExportErrorCode =
  | 'export_not_found' // 404: no such export, or another person's
  | 'export_in_progress' // 409: the person has an export queued or being built
  | 'export_expired' // 410: past its 24 hours, deleted
  | 'export_failed' // 409: the build failed for good; ask for a new one
  | 'export_unavailable'; // 503: the job could not be queued (Redis down)

export class ExportError extends DomainError<ExportErrorCode, { exportId?: string; retryAfterSeconds?: number }> {
  override readonly name = 'ExportError';
}
