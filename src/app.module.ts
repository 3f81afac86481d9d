import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from './config/config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './platform/database/database.module';
import { EventStoreModule } from './platform/event-store/event-store.module';
import { HealthController } from './platform/http/health.controller';
import { LedgerModule } from './ledger/ledger.module';
import { AccountsModule } from './accounts/accounts.module';
import { RedisModule } from './platform/redis/redis.module';
import { KeysModule } from './keys/keys.module';
import { ProxyModule } from './proxy/proxy.module';
import { WORKER_PROVIDERS } from './worker.module';

/** The HTTP API process (src/main.ts). */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [ConfigModule.forRoot(config), DatabaseModule, EventStoreModule, LedgerModule, AccountsModule, RedisModule, KeysModule, ProxyModule],
      controllers: [HealthController],
      providers: config.API_RUNS_WORKERS ? WORKER_PROVIDERS : [],
    };
  }
}
