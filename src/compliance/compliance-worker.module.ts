/** Compliance's background jobs (retention, exports, breach notices), each part's worker module. */
import { Module } from '@nestjs/common';
import { ComplianceModule } from './compliance.module';
import { ExportWorkerModule } from './export/export-worker.module';

@Module({
  imports: [ComplianceModule, ExportWorkerModule],
})
export class ComplianceWorkerModule {}
