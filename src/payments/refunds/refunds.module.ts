/**
 * Refund requests (issue 20): the account holder's routes (/api/billing/refund-requests,
 * /api/billing/purchases), staff's (/staff/refund-requests) and the service both they and the
 * CLI (cli/refunds-cli.module.ts) use. The Stripe client is built here from the configuration
 * (null when Stripe is not configured: card refunds then answer 503 stripe_not_configured).
 */
import { Module, OnModuleInit } from '@nestjs/common';
import { ReadModelRebuilders, ReadModelRebuildersModule } from '../../platform/read-models/read-model-rebuilders';
import { RefundRequestsService } from './application/refund-requests.service';
import { AccountsModule } from '../../accounts/accounts.module';
import { MailModule } from '../../platform/mail/mail.module';
import { AuditModule } from '../../audit/audit.module';
import { AuthModule } from '../../auth/auth.module';
import { ComplianceModule } from '../../compliance/compliance.module';
import { LedgerModule } from '../../ledger/ledger.module';
import { RefundRequestsController } from './http/refund-requests.controller';
import { StaffRefundRequestsController } from './http/staff-refund-requests.controller';
import { REFUND_SERVICE_PROVIDERS } from './refunds.providers';

@Module({
  imports: [AccountsModule, AuthModule, AuditModule, MailModule, ComplianceModule, LedgerModule, ReadModelRebuildersModule],
  controllers: [RefundRequestsController, StaffRefundRequestsController],
  providers: [...REFUND_SERVICE_PROVIDERS],
  exports: [RefundRequestsService],
})
export class RefundsModule implements OnModuleInit {
  constructor(
    private readonly rebuilders: ReadModelRebuilders,
    private readonly refunds: RefundRequestsService,
  ) {}

  /** `ledger replay` rebuilds the refund_requests rows from their streams too. */
  onModuleInit(): void {
    this.rebuilders.register({ name: 'refund_requests', rebuild: (onProgress) => this.refunds.rebuild(onProgress) });
  }
}
