import { DynamicModule, Module, Provider } from '@nestjs/common';
import { AppConfig } from './config/config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './platform/database/database.module';
import { EventStoreModule } from './platform/event-store/event-store.module';
import { LedgerModule } from './ledger/ledger.module';
import { AccountsModule } from './accounts/accounts.module';
import { CliConventions } from './cli/cli-conventions';
import { DbCommand } from './platform/database/cli/db.command';
import { MigrateDbCommand } from './platform/database/cli/migrate.command';
import { AccountsCommand } from './accounts/cli/accounts.command';
import { CreateAccountCommand } from './accounts/cli/create-account.command';
import { CreditsCommand } from './ledger/cli/credits.command';
import { GrantCreditsCommand } from './ledger/cli/grant-credits.command';
import { LedgerCommand } from './ledger/cli/ledger.command';
import { LedgerReplayCommand } from './ledger/cli/ledger-replay.command';
import { LedgerBalanceCommand } from './ledger/cli/ledger-balance.command';
import { LedgerTrialBalanceCommand } from './ledger/cli/ledger-trial-balance.command';
import { LedgerVerifyCommand } from './ledger/cli/ledger-verify.command';
import { LedgerExportCommand } from './ledger/cli/ledger-export.command';

/**
 * Every `tollgate` command: a group (@Command) and its subcommands (@SubCommand) are all
 * listed. Class names must be unique: nest-commander finds a command's options by class name.
 */
export const CLI_COMMANDS: Provider[] = [
  DbCommand,
  MigrateDbCommand,
  AccountsCommand,
  CreateAccountCommand,
  CreditsCommand,
  GrantCreditsCommand,
  LedgerCommand,
  LedgerReplayCommand,
  LedgerBalanceCommand,
  LedgerTrialBalanceCommand,
  LedgerVerifyCommand,
  LedgerExportCommand,
];

@Module({})
export class CliModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: CliModule,
      imports: [ConfigModule.forRoot(config), DatabaseModule, EventStoreModule, LedgerModule, AccountsModule],
      providers: [...CLI_COMMANDS, CliConventions],
    };
  }
}
