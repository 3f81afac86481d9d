import { Module } from '@nestjs/common';
import { AccountsModule } from '../../accounts/accounts.module';
import { KeysModule } from '../../keys/keys.module';
import { RequestLogPages } from '../../proxy/usage/request-log-pages';
import { StaffModule } from '../staff.module';
import { UserActivity } from '../application/user-activity.service';
import { GrantRoleCommand, RevokeRoleCommand } from './change-role.command';
import { ListStaffCommand } from './list-staff.command';
import { StaffCommand } from './staff.command';
import { UserRequestsCommand } from './user-requests.command';

/** `tollgate staff`. */
@Module({
  imports: [StaffModule, AccountsModule, KeysModule],
  providers: [StaffCommand, GrantRoleCommand, RevokeRoleCommand, ListStaffCommand, UserRequestsCommand, UserActivity, RequestLogPages],
})
export class StaffCliModule {}
