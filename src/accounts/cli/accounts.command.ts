import { Command } from 'nest-commander';
import { CommandGroup } from '../../cli/command-group';
import { CreateAccountCommand } from './create-account.command';

@Command({ name: 'accounts', description: 'people and their accounts', subCommands: [CreateAccountCommand] })
export class AccountsCommand extends CommandGroup {}
