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
import { RedisModule } from './platform/redis/redis.module';
import { KeysModule } from './keys/keys.module';
import { KeysCommand } from './keys/cli/keys.command';
import { CreateKeyCommand } from './keys/cli/create-key.command';
import { ListKeysCommand } from './keys/cli/list-keys.command';
import { RevokeKeyCommand } from './keys/cli/revoke-key.command';
import { RegenerateKeyCommand } from './keys/cli/regenerate-key.command';
import { ChangeKeyLimitsCommand } from './keys/cli/change-key-limits.command';
import { ChannelStoreModule } from './proxy/channels/channels.module';
import { ChannelsCommand } from './proxy/channels/cli/channels.command';
import { AddChannelCommand } from './proxy/channels/cli/add-channel.command';
import { ListChannelsCommand } from './proxy/channels/cli/list-channels.command';
import { DisableChannelCommand, EnableChannelCommand } from './proxy/channels/cli/set-channel-enabled.command';

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
  KeysCommand,
  CreateKeyCommand,
  ListKeysCommand,
  RevokeKeyCommand,
  RegenerateKeyCommand,
  ChangeKeyLimitsCommand,
  ChannelsCommand,
  AddChannelCommand,
  ListChannelsCommand,
  DisableChannelCommand,
  EnableChannelCommand,
];

@Module({})
export class CliModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: CliModule,
      imports: [ConfigModule.forRoot(config), DatabaseModule, EventStoreModule, LedgerModule, AccountsModule, RedisModule, KeysModule, ChannelStoreModule],
      providers: [...CLI_COMMANDS, CliConventions],
    };
  }
}
