/** Compliance on the API: each part's routes (self-service under /api/me, staff under /staff). */
import { Module } from '@nestjs/common';
import { ComplianceModule } from './compliance.module';
import { ErasureModule } from './erasure/erasure.module';

@Module({
  imports: [ComplianceModule, ErasureModule],
})
export class ComplianceApiModule {}
