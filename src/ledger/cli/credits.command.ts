import { Command } from 'nest-commander';
import { CommandGroup } from '../../cli/command-group';
import { GrantCreditsCommand } from './grant-credits.command';

@Command({ name: 'credits', description: 'credit operations on an account', subCommands: [GrantCreditsCommand] })
export class CreditsCommand extends CommandGroup {}
