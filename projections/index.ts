import { Projection } from './projection';
import { BalancesProjection } from './balances/balances.projection';
import { AccountEntriesProjection } from './account-entries/account-entries.projection';
import { TransactionsProjection } from './transactions/transactions.projection';
import { DailyUsageProjection } from './daily-usage/daily-usage.projection';
import { OpenHoldsProjection } from './open-holds/open-holds.projection';
import { KeySpendProjection } from './key-spend/key-spend.projection';

/** Every read model, in the order a rebuild fills them. */
export function allProjections(): Projection[] {
  return [new BalancesProjection(), new AccountEntriesProjection(), new TransactionsProjection(), new DailyUsageProjection(), new OpenHoldsProjection(), new KeySpendProjection()];
}
