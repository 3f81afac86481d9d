import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { ExecuteAccountCommand } from './execute-account.command';
import { CommandOutcome, LedgerService } from './ledger.service';

@CommandHandler(ExecuteAccountCommand)
export class ExecuteAccountHandler implements ICommandHandler<ExecuteAccountCommand, CommandOutcome> {
  constructor(private readonly ledger: LedgerService) {}

  execute({ accountId, command, meta, hooks, alongside }: ExecuteAccountCommand): Promise<CommandOutcome> {
    return this.ledger.execute(accountId, command, meta, hooks, alongside);
  }
}
