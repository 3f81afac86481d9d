import { Command } from '@nestjs/cqrs';
import { CommandMeta, CommandOutcome } from './ledger.service';

export interface GrantedCredits {
  outcome: CommandOutcome;
  /** The account's available credit as the log has it right after the grant. */
  available: bigint;
}

/**
 * An audited promotional grant (`tollgate credits grant`): the GrantCredits account command,
 * answered with the balance after it, so the CLI sends one command and reads nothing itself.
 */
export class GrantPromoCreditsCommand extends Command<GrantedCredits> {
  constructor(
    readonly accountId: string,
    readonly grant: { grantId: string; amount: bigint; reason: string },
    readonly meta: CommandMeta = {},
  ) {
    super();
  }
}
