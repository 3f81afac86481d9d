/**
 * The staff API under /staff, composed here: this context's routes about people, and later the
 * payments and compliance contexts' staff controllers (their http/ folders), each guarded by
 * @StaffRoles and recording what staff do through StaffAudit.
 */
import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { LedgerModule } from '../ledger/ledger.module';
import { StaffModule } from './staff.module';
import { BalanceSummaries } from './application/balance-summary';
import { StaffUsersController } from './http/staff-users.controller';

@Module({
  imports: [StaffModule, AuthModule, LedgerModule],
  controllers: [StaffUsersController],
  providers: [BalanceSummaries],
})
export class StaffApiModule {}
