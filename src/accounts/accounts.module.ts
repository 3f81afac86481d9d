import { Module } from '@nestjs/common';
import { ComplianceModule } from '../compliance/compliance.module';
import { LedgerModule } from '../ledger/ledger.module';
import { AccountsService } from './application/accounts.service';

/** People and their accounts. The money of an account lives in the ledger context. */
@Module({
  imports: [ComplianceModule, LedgerModule],
  providers: [AccountsService],
  exports: [AccountsService],
})
export class AccountsModule {}
