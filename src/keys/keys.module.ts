/**
 * API keys: an event-sourced key per stream `apikey-<id>`, the api_keys read model for
 * authentication, broadcast invalidation over Redis, and the `tollgate keys` commands.
 *
 * Exports KeysService (create, revoke, regenerate, limits, list) and ApiKeyAuthenticator
 * (one per process; the proxy authenticates every request with it), and registers the
 * api_keys rebuild that `ledger replay` runs. Needs the global DatabaseModule,
 * EventStoreModule and RedisModule.
 */
import { Module, OnModuleInit } from '@nestjs/common';
import type Redis from 'ioredis';
import { CLOCK, Clock } from '../platform/clock';
import { EVENT_STORE, EventStore } from '../platform/event-store/event-store.port';
import { REDIS, REDIS_FACTORY, RedisFactory, RedisModule } from '../platform/redis/redis.module';
import { ReadModelRebuilders, ReadModelRebuildersModule } from '../platform/read-models/read-model-rebuilders';
import { ApiKeyAuthenticator } from './application/api-key-authenticator';
import { ApiKeysRepository } from './application/api-keys.repository';
import { KeyBroadcaster } from './application/key-broadcaster';
import { KeysApiStartup } from './application/keys-api-startup';
import { KeysService } from './application/keys.service';
import { LastUseRecorder } from './application/last-use-recorder';
import { AccountNames } from '../compliance/account-names';
import { ComplianceModule } from '../compliance/compliance.module';

@Module({
  imports: [ReadModelRebuildersModule, RedisModule, ComplianceModule],
  providers: [
    ApiKeysRepository,
    { provide: KeyBroadcaster, inject: [REDIS_FACTORY], useFactory: (factory: RedisFactory) => new KeyBroadcaster(factory) },
    {
      provide: KeysService,
      inject: [EVENT_STORE, ApiKeysRepository, KeyBroadcaster, CLOCK, AccountNames],
      useFactory: (store: EventStore, repo: ApiKeysRepository, broadcaster: KeyBroadcaster, clock: Clock, names: AccountNames) =>
        new KeysService(store, repo, broadcaster, clock, names),
    },
    {
      provide: ApiKeyAuthenticator,
      inject: [ApiKeysRepository, REDIS_FACTORY, CLOCK, REDIS],
      useFactory: (repo: ApiKeysRepository, factory: RedisFactory, clock: Clock, commands: Redis) =>
        new ApiKeyAuthenticator(repo, factory, clock, { commands, uses: new LastUseRecorder(repo, clock) }),
    },
    KeysApiStartup,
  ],
  exports: [KeysService, ApiKeyAuthenticator, ApiKeysRepository],
})
export class KeysModule implements OnModuleInit {
  constructor(
    private readonly rebuilders: ReadModelRebuilders,
    private readonly keys: KeysService,
  ) {}

  /** `ledger replay` rebuilds api_keys from the key streams too. */
  onModuleInit(): void {
    this.rebuilders.register({
      name: 'api_keys',
      rebuild: async (onProgress) => {
        const r = await this.keys.rebuildReadModel(onProgress);
        return { rows: r.keys, repaired: r.rewritten + r.removed };
      },
    });
  }
}
