/**
 * Staff: who holds which role (StaffRolesService), shared by `tollgate staff` and the /staff
 * routes. Needs the global DatabaseModule and EventStoreModule.
 */
import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module';
import { AuditModule } from '../audit/audit.module';
import { StaffDirectory } from './application/staff-directory';
import { StaffRolesService } from './application/staff-roles.service';

@Module({
  imports: [AccountsModule, AuditModule],
  providers: [StaffDirectory, StaffRolesService],
  exports: [StaffRolesService, AuditModule],
})
export class StaffModule {}
