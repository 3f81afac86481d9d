import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { GrantPromoCreditsCommand, GrantedCredits } from './grant-promo-credits.command';
import { LedgerService } from './ledger.service';

@CommandHandler(GrantPromoCreditsCommand)
export class GrantPromoCreditsHandler implements ICommandHandler<GrantPromoCreditsCommand, GrantedCredits> {
  constructor(private readonly ledger: LedgerService) {}

  async execute({ accountId, grant, meta }: GrantPromoCreditsCommand): Promise<GrantedCredits> {
    const outcome = await this.ledger.execute(accountId, { type: 'GrantCredits', data: grant }, meta);
    // Read again, not the lane's state: a retried grant (idempotent) leaves the lane to reload.
    const { state } = await this.ledger.load(accountId);
    return { outcome, available: state.available };
  }
}
