import { Command } from 'nest-commander';
import { CommandGroup } from '../command-group';
import { MigrateDbCommand } from './migrate-db.command';

@Command({ name: 'db', description: 'database administration', subCommands: [MigrateDbCommand] })
export class DbCommand extends CommandGroup {}
