/** `tollgate compliance …`: each part's commands, grouped under one command. */
import { Module } from '@nestjs/common';
import { ComplianceCommand } from './compliance.command';
import { ComplianceModule } from './compliance.module';
import { IncidentsCliModule } from './incidents/incidents-cli.module';

@Module({
  imports: [ComplianceModule, IncidentsCliModule],
  providers: [ComplianceCommand],
})
export class ComplianceCliModule {}
