/** `tollgate compliance …`: each part's commands, grouped under one command. */
import { Module } from '@nestjs/common';
import { ComplianceCommand } from './compliance.command';
import { ComplianceModule } from './compliance.module';
import { ExportCliModule } from './export/export-cli.module';

@Module({
  imports: [ComplianceModule, ExportCliModule],
  providers: [ComplianceCommand],
})
export class ComplianceCliModule {}
