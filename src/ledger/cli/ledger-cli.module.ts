import { Module } from '@nestjs/common';
import { LedgerModule } from '../ledger.module';
import { LedgerReportsModule } from '../application/ledger-reports.module';
import { CreditsCommand } from './credits.command';
import { GrantCreditsCommand } from './grant-credits.command';
import { LedgerCommand } from './ledger.command';
import { LedgerReplayCommand } from './ledger-replay.command';
import { LedgerBalanceCommand } from './ledger-balance.command';
import { LedgerTrialBalanceCommand } from './ledger-trial-balance.command';
import { LedgerVerifyCommand } from './ledger-verify.command';
import { LedgerExportCommand } from './ledger-export.command';

/**
 * `tollgate credits` and `tollgate ledger`: a group (@Command) and its subcommands
 * (@SubCommand) are all providers. ReadModels comes from the global ProjectionsModule.
 */
@Module({
  imports: [LedgerModule, LedgerReportsModule],
  providers: [
    CreditsCommand,
    GrantCreditsCommand,
    LedgerCommand,
    LedgerReplayCommand,
    LedgerBalanceCommand,
    LedgerTrialBalanceCommand,
    LedgerVerifyCommand,
    LedgerExportCommand,
  ],
})
export class LedgerCliModule {}
