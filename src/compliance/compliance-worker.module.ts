/** Compliance's background jobs (retention, exports, breach notices), each part's worker module. */
import { Module } from '@nestjs/common';
import { ComplianceModule } from './compliance.module';

@Module({
  imports: [ComplianceModule],
})
export class ComplianceWorkerModule {}
