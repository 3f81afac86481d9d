/** Compliance's background jobs (retention, exports, breach notices), each part's worker module. */
import { Module } from '@nestjs/common';
import { ComplianceModule } from './compliance.module';
import { UsageRetentionWorkerModule } from './retention/usage-retention-worker.module';

@Module({
  imports: [ComplianceModule, UsageRetentionWorkerModule],
})
export class ComplianceWorkerModule {}
