/** `tollgate compliance requests …`: the requests service without the HTTP routes. */
import { Module, OnModuleInit } from '@nestjs/common';
import { AccountsModule } from '../../../accounts/accounts.module';
import { AuditModule } from '../../../audit/audit.module';
import { LedgerModule } from '../../../ledger/ledger.module';
import { ReadModelRebuilders, ReadModelRebuildersModule } from '../../../platform/read-models/read-model-rebuilders';
import { ComplianceModule } from '../../compliance.module';
import { SubjectRequestsService } from '../application/subject-requests.service';
import { SUBJECT_REQUEST_PROVIDERS } from '../subject-requests.providers';
import { SUBJECT_REQUEST_COMMANDS, SubjectRequestsCommand } from './subject-requests.commands';

@Module({
  imports: [AccountsModule, AuditModule, ComplianceModule, LedgerModule, ReadModelRebuildersModule],
  providers: [...SUBJECT_REQUEST_PROVIDERS, SubjectRequestsCommand, ...SUBJECT_REQUEST_COMMANDS],
})
export class SubjectRequestsCliModule implements OnModuleInit {
  constructor(
    private readonly rebuilders: ReadModelRebuilders,
    private readonly requests: SubjectRequestsService,
  ) {}

  /** `tollgate ledger replay` rebuilds the subject_requests rows from their streams too. */
  onModuleInit(): void {
    this.rebuilders.register({ name: 'subject_requests', rebuild: (onProgress) => this.requests.rebuild(onProgress) });
  }
}
