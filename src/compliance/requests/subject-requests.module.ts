/**
 * Data-subject requests (issue 21): the person's routes (/api/me/requests), compliance staff's
 * (/staff/requests, /staff/users/{id}/requests) and the service both they and the CLI
 * (cli/subject-requests-cli.module.ts) use. Registers the subject_requests rebuild that
 * `tollgate ledger replay` runs.
 */
import { Module, OnModuleInit } from '@nestjs/common';
import { AccountsModule } from '../../accounts/accounts.module';
import { AuditModule } from '../../audit/audit.module';
import { AuthModule } from '../../auth/auth.module';
import { LedgerModule } from '../../ledger/ledger.module';
import { ReadModelRebuilders, ReadModelRebuildersModule } from '../../platform/read-models/read-model-rebuilders';
import { ComplianceModule } from '../compliance.module';
import { SubjectRequestsService } from './application/subject-requests.service';
import { StaffSubjectRequestsController } from './http/staff-subject-requests.controller';
import { SubjectRequestsController } from './http/subject-requests.controller';
import { SUBJECT_REQUEST_PROVIDERS } from './subject-requests.providers';

@Module({
  imports: [AccountsModule, AuthModule, AuditModule, ComplianceModule, LedgerModule, ReadModelRebuildersModule],
  controllers: [SubjectRequestsController, StaffSubjectRequestsController],
  providers: [...SUBJECT_REQUEST_PROVIDERS],
  exports: [SubjectRequestsService],
})
export class SubjectRequestsModule implements OnModuleInit {
  constructor(
    private readonly rebuilders: ReadModelRebuilders,
    private readonly requests: SubjectRequestsService,
  ) {}

  onModuleInit(): void {
    this.rebuilders.register({ name: 'subject_requests', rebuild: (onProgress) => this.requests.rebuild(onProgress) });
  }
}
