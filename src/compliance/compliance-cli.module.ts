/** `tollgate compliance …`: each part's commands, grouped under one command. */
import { Module } from '@nestjs/common';
import { ComplianceCommand } from './compliance.command';
import { ComplianceModule } from './compliance.module';
import { ErasureCliModule } from './erasure/erasure-cli.module';
import { ExportCliModule } from './export/export-cli.module';
import { IncidentsCliModule } from './incidents/incidents-cli.module';
import { SubjectRequestsCliModule } from './requests/cli/subject-requests-cli.module';
import { UsageRetentionCliModule } from './retention/usage-retention-cli.module';

@Module({
  imports: [ComplianceModule, UsageRetentionCliModule, ExportCliModule, SubjectRequestsCliModule, ErasureCliModule, IncidentsCliModule],
  providers: [ComplianceCommand],
})
export class ComplianceCliModule {}
