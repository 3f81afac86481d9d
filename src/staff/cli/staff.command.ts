import { Command } from 'nest-commander';
import { CommandGroup } from '../../cli/command-group';
import { GrantRoleCommand, RevokeRoleCommand } from './change-role.command';
import { ListStaffCommand } from './list-staff.command';

@Command({ name: 'staff', description: 'staff roles: admin, accountant, compliance, support', subCommands: [GrantRoleCommand, RevokeRoleCommand, ListStaffCommand] })
export class StaffCommand extends CommandGroup {}
