import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from './config/config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './platform/database/database.module';
import { EventStoreModule } from './platform/event-store/event-store.module';
import { CliConventions } from './cli/cli-conventions';
import { DbCliModule } from './cli/db/db-cli.module';
import { contextModules } from './contexts';

/**
 * The `tollgate` command (src/cli.ts): `tollgate db`, then every context's `cli` module.
 * Command class names must be unique across them: nest-commander finds a command's options
 * by class name.
 */
@Module({})
export class CliModule {
  static async forRoot(config: AppConfig): Promise<DynamicModule> {
    return {
      module: CliModule,
      imports: [ConfigModule.forRoot(config), DatabaseModule, EventStoreModule, DbCliModule, ...(await contextModules('cli'))],
      providers: [CliConventions],
    };
  }
}
