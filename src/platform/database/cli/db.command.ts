import { Command } from 'nest-commander';
import { CommandGroup } from '../../../cli/command-group';
import { MigrateDbCommand } from './migrate.command';

@Command({ name: 'db', description: 'database administration', subCommands: [MigrateDbCommand] })
export class DbCommand extends CommandGroup {}
