/**
 * The balance staff see on a profile: from the balances read model (one row), or, while that
 * model has not seen the account (a new account, or a deployment whose worker has not yet
 * created it), folded from the account's stream, which is then only a few events long.
 */
import { Injectable } from '@nestjs/common';
import { LedgerReadRepository } from '../../ledger/application/ledger-read.repository';
import { LedgerService } from '../../ledger/application/ledger.service';
import { DomainError } from '../../shared/domain-error';
import { formatCredits } from '../../shared/money';

export interface BalanceSummary {
  /** Exact decimal strings of credits. */
  available: string;
  held: string;
  /** Set aside for an approved refund or a dispute. */
  frozen: string;
  receivable: string;
}

const UNDEFINED_TABLE = '42P01';

@Injectable()
export class BalanceSummaries {
  constructor(
    private readonly reads: LedgerReadRepository,
    private readonly ledger: LedgerService,
  ) {}

  async of(accountId: string): Promise<BalanceSummary> {
    const projected = await this.reads.balance(accountId).catch((err: unknown) => {
      const notYet = (err instanceof DomainError && err.code === 'account_not_found') || (err as { code?: unknown } | null)?.code === UNDEFINED_TABLE;
      if (notYet) return null;
      throw err;
    });
    const b = projected ?? (await this.ledger.load(accountId)).state;
    return { available: formatCredits(b.available), held: formatCredits(b.held), frozen: formatCredits(b.frozen), receivable: formatCredits(b.receivable) };
  }
}
