/** Compliance on the API: each part's routes (self-service under /api/me, staff under /staff). */
import { Module } from '@nestjs/common';
import { ComplianceModule } from './compliance.module';
import { ExportApiModule } from './export/export-api.module';

@Module({
  imports: [ComplianceModule, ExportApiModule],
})
export class ComplianceApiModule {}
