import { Command } from 'nest-commander';
import { CommandGroup } from '../../cli/command-group';
import { MailOutboxCommand } from './mail-outbox.command';

@Command({ name: 'mail', description: 'mail the gateway sends: the development outbox', subCommands: [MailOutboxCommand] })
export class MailCommand extends CommandGroup {}
