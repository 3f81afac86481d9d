import { Module, OnModuleInit } from '@nestjs/common';
import { ReadModelRebuilders, ReadModelRebuildersModule } from '../../../platform/read-models/read-model-rebuilders';
import { RefundRequestsService } from '../application/refund-requests.service';
import { AccountsModule } from '../../../accounts/accounts.module';
import { MailModule } from '../../../platform/mail/mail.module';
import { AuditModule } from '../../../audit/audit.module';
import { ComplianceModule } from '../../../compliance/compliance.module';
import { LedgerModule } from '../../../ledger/ledger.module';
import { REFUND_SERVICE_PROVIDERS } from '../refunds.providers';
import { ApproveRefundCommand, DeclineRefundCommand, ListRefundsCommand, RefundsCommand } from './refunds.commands';

/** `tollgate payments refunds`: the refunds service without the HTTP routes. */
@Module({
  imports: [AccountsModule, AuditModule, ComplianceModule, LedgerModule, MailModule, ReadModelRebuildersModule],
  providers: [...REFUND_SERVICE_PROVIDERS, RefundsCommand, ListRefundsCommand, ApproveRefundCommand, DeclineRefundCommand],
})
export class RefundsCliModule implements OnModuleInit {
  constructor(
    private readonly rebuilders: ReadModelRebuilders,
    private readonly refunds: RefundRequestsService,
  ) {}

  /** `tollgate ledger replay` rebuilds the refund_requests rows from their streams too. */
  onModuleInit(): void {
    this.rebuilders.register({ name: 'refund_requests', rebuild: (onProgress) => this.refunds.rebuild(onProgress) });
  }
}
