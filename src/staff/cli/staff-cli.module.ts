import { Module } from '@nestjs/common';
import { StaffModule } from '../staff.module';
import { GrantRoleCommand, RevokeRoleCommand } from './change-role.command';
import { ListStaffCommand } from './list-staff.command';
import { StaffCommand } from './staff.command';

/** `tollgate staff`. */
@Module({ imports: [StaffModule], providers: [StaffCommand, GrantRoleCommand, RevokeRoleCommand, ListStaffCommand] })
export class StaffCliModule {}
