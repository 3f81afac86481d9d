/**
 * The staff API under /staff, composed here: this context's routes about people, the ledger's
 * accountant routes (ledger/http), and the payments and compliance contexts' staff controllers
 * (their http/ folders, loaded with their contexts), each guarded by @StaffRoles and recording
 * what staff do through StaffAudit.
 */
import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { KeysModule } from '../keys/keys.module';
import { LedgerModule } from '../ledger/ledger.module';
import { LedgerStaffApiModule } from '../ledger/http/ledger-staff-api.module';
import { RequestLogPages } from '../proxy/usage/request-log-pages';
import { StaffModule } from './staff.module';
import { BalanceSummaries } from './application/balance-summary';
import { UserActivity } from './application/user-activity.service';
import { StaffUsersController } from './http/staff-users.controller';
import { StaffUserActivityController } from './http/staff-user-activity.controller';

@Module({
  imports: [StaffModule, AuthModule, LedgerModule, KeysModule, LedgerStaffApiModule],
  controllers: [StaffUsersController, StaffUserActivityController],
  providers: [BalanceSummaries, UserActivity, RequestLogPages],
})
export class StaffApiModule {}
