import { Module } from '@nestjs/common';
import { AccountsModule } from '../../accounts/accounts.module';
import { LedgerModule } from '../../ledger/ledger.module';
import { MailModule } from '../../platform/mail/mail.module';
import { LowBalanceAlertsRepository } from './low-balance-alerts.repository';
import { LowBalanceAlerts } from './low-balance-alerts.service';
import { LowBalanceCheckJob } from './low-balance-check.job';

/** Low-balance alerts: the thresholds (read and set by /api/me) and the check that mails them. */
@Module({
  imports: [AccountsModule, LedgerModule, MailModule],
  providers: [LowBalanceAlertsRepository, LowBalanceAlerts],
  exports: [LowBalanceAlerts],
})
export class LowBalanceAlertsModule {}

/** The worker side: the periodic check. */
@Module({
  imports: [LowBalanceAlertsModule],
  providers: [LowBalanceCheckJob],
})
export class LowBalanceAlertsWorkerModule {}
