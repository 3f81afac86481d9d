/** Compliance on the API: each part's routes (self-service under /api/me, staff under /staff). */
import { Module } from '@nestjs/common';
import { ComplianceModule } from './compliance.module';
import { IncidentsModule } from './incidents/incidents.module';

@Module({
  imports: [ComplianceModule, IncidentsModule],
})
export class ComplianceApiModule {}
