/** `tollgate compliance …`: each part's commands, grouped under one command. */
import { Module } from '@nestjs/common';
import { ComplianceCommand } from './compliance.command';
import { ComplianceModule } from './compliance.module';
import { UsageRetentionCliModule } from './retention/usage-retention-cli.module';

@Module({
  imports: [ComplianceModule, UsageRetentionCliModule],
  providers: [ComplianceCommand],
})
export class ComplianceCliModule {}
