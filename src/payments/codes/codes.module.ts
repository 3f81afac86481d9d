/**
 * Redemption codes (issue 20): the service (issue, list, revoke, redeem) and the account API's
 * POST /api/billing/redeem. The hourly Redis limiter of sign-in links counts redemptions too.
 */
import { Module } from '@nestjs/common';
import { AuditModule } from '../../audit/audit.module';
import { AuthModule } from '../../auth/auth.module';
import { MagicLinkLimiter } from '../../auth/magic-link/magic-link-limiter';
import { LedgerModule } from '../../ledger/ledger.module';
import { SecretBoxModule } from '../../platform/crypto/secret-box';
import { CodesService } from './application/codes.service';
import { RedeemController } from './http/redeem.controller';

@Module({
  imports: [AuthModule, AuditModule, LedgerModule, SecretBoxModule],
  controllers: [RedeemController],
  providers: [CodesService, MagicLinkLimiter],
  exports: [CodesService],
})
export class CodesModule {}
