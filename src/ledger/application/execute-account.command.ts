import { Command } from '@nestjs/cqrs';
import { AccountCommand } from '../domain/account.decider';
import { CommandHooks, CommandMeta, CommandOutcome } from './ledger.service';

/** A thin Nest envelope around an account command; the decision is made by the pure decider. */
export class ExecuteAccountCommand extends Command<CommandOutcome> {
  constructor(
    readonly accountId: string,
    readonly command: AccountCommand,
    readonly meta: CommandMeta = {},
    /** `onAccepted`: told before the command is durable that it is accepted (LedgerService's header). */
    readonly hooks: CommandHooks = {},
  ) {
    super();
  }
}
