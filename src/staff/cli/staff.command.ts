import { Command } from 'nest-commander';
import { CommandGroup } from '../../cli/command-group';
import { GrantRoleCommand, RevokeRoleCommand } from './change-role.command';
import { ListStaffCommand } from './list-staff.command';
import { UserRequestsCommand } from './user-requests.command';

@Command({ name: 'staff', description: "staff roles (admin, accountant, compliance, support), and a person's request log", subCommands: [GrantRoleCommand, RevokeRoleCommand, ListStaffCommand, UserRequestsCommand] })
export class StaffCommand extends CommandGroup {}
