/** `tollgate compliance …`: each part's commands, grouped under one command. */
import { Module } from '@nestjs/common';
import { ComplianceCommand } from './compliance.command';
import { ComplianceModule } from './compliance.module';

@Module({
  imports: [ComplianceModule],
  providers: [ComplianceCommand],
})
export class ComplianceCliModule {}
