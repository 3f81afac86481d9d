/** The ledger's staff routes (StaffLedgerController), composed into the staff API by StaffApiModule. */
import { Module } from '@nestjs/common';
import { AccountsModule } from '../../accounts/accounts.module';
import { AuditModule } from '../../audit/audit.module';
import { AuthModule } from '../../auth/auth.module';
import { LedgerReportsModule } from '../application/ledger-reports.module';
import { StaffLedgerController } from './staff-ledger.controller';

@Module({
  imports: [AuthModule, AccountsModule, AuditModule, LedgerReportsModule],
  controllers: [StaffLedgerController],
})
export class LedgerStaffApiModule {}
