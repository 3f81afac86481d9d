import { Command } from '@nestjs/cqrs';
import { SideRows } from '../../platform/event-store/event-store.port';
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
    /** Rows to commit with the command's events (LedgerService's header): a settle's request log row. */
    readonly alongside?: SideRows[],
  ) {
    super();
  }
}
