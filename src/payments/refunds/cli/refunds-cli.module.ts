import { Module } from '@nestjs/common';
import { AccountsModule } from '../../../accounts/accounts.module';
import { MailModule } from '../../../platform/mail/mail.module';
import { AuditModule } from '../../../audit/audit.module';
import { ComplianceModule } from '../../../compliance/compliance.module';
import { LedgerModule } from '../../../ledger/ledger.module';
import { REFUND_SERVICE_PROVIDERS } from '../refunds.providers';
import { ApproveRefundCommand, DeclineRefundCommand, ListRefundsCommand, PaymentsCommand, RefundsCommand } from './refunds.commands';

/** `tollgate payments refunds`: the refunds service without the HTTP routes. */
@Module({
  imports: [AccountsModule, AuditModule, ComplianceModule, LedgerModule, MailModule],
  providers: [...REFUND_SERVICE_PROVIDERS, PaymentsCommand, RefundsCommand, ListRefundsCommand, ApproveRefundCommand, DeclineRefundCommand],
})
export class RefundsCliModule {}
