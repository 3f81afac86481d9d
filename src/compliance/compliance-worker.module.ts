/** Compliance's background jobs (retention, exports, breach notices), each part's worker module. */
import { Module } from '@nestjs/common';
import { ComplianceModule } from './compliance.module';
import { IncidentsWorkerModule } from './incidents/incidents-worker.module';

@Module({
  imports: [ComplianceModule, IncidentsWorkerModule],
})
export class ComplianceWorkerModule {}
