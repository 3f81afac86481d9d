import { Module } from '@nestjs/common';
import { AuditModule } from '../../../audit/audit.module';
import { LedgerModule } from '../../../ledger/ledger.module';
import { CodesService } from '../application/codes.service';
import { CodesCommand, IssueCodesCommand, ListCodesCommand, RevokeCodesCommand } from './codes.commands';

/** `tollgate codes`: the service without the HTTP route (and so without Redis). */
@Module({
  imports: [AuditModule, LedgerModule],
  providers: [CodesService, CodesCommand, IssueCodesCommand, ListCodesCommand, RevokeCodesCommand],
})
export class CodesCliModule {}
