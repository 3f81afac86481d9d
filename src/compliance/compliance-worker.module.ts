/** Compliance's background jobs (retention, exports, breach notices), each part's worker module. */
import { Module } from '@nestjs/common';
import { ComplianceModule } from './compliance.module';
import { ExportWorkerModule } from './export/export-worker.module';
import { IncidentsWorkerModule } from './incidents/incidents-worker.module';
import { UsageRetentionWorkerModule } from './retention/usage-retention-worker.module';

@Module({
  imports: [ComplianceModule, UsageRetentionWorkerModule, ExportWorkerModule, IncidentsWorkerModule],
})
export class ComplianceWorkerModule {}
