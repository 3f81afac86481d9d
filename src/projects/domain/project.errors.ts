/** Errors of the projects context, with stable codes (the account API maps them to statuses). */
import { DomainError } from '../../shared/domain-error';

export type ProjectErrorCode = 'project_not_found' | 'project_name_taken' | 'project_archived' | 'invalid_command' | 'version_conflict';

export class ProjectError extends DomainError<ProjectErrorCode> {
  override readonly name = 'ProjectError';
}
