/** `tollgate compliance export`: the export written straight to a file. */
import { Module } from '@nestjs/common';
import { AccountsModule } from '../../accounts/accounts.module';
import { AuditModule } from '../../audit/audit.module';
import { ExportDataCommand } from './cli/export-data.command';
import { ExportModule } from './export.module';

@Module({
  imports: [ExportModule, AccountsModule, AuditModule],
  providers: [ExportDataCommand],
})
export class ExportCliModule {}
