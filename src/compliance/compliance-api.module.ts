/** Compliance on the API: each part's routes (self-service under /api/me, staff under /staff). */
import { Module } from '@nestjs/common';
import { ComplianceModule } from './compliance.module';
import { ErasureModule } from './erasure/erasure.module';
import { ExportApiModule } from './export/export-api.module';
import { IncidentsModule } from './incidents/incidents.module';
import { SubjectRequestsModule } from './requests/subject-requests.module';

@Module({
  imports: [ComplianceModule, ExportApiModule, SubjectRequestsModule, ErasureModule, IncidentsModule],
})
export class ComplianceApiModule {}
