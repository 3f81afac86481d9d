import { Command } from 'nest-commander';
import { CommandGroup } from '../../cli/command-group';
import { ListAuditCommand } from './list-audit.command';

@Command({ name: 'audit', description: 'the trail of what staff did and looked at', subCommands: [ListAuditCommand] })
export class AuditCommand extends CommandGroup {}
