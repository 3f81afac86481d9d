/**
 * Management keys: their streams, their rows, and the authenticator the account guard asks for
 * `Bearer tg-mgmt-…` (registered with the auth context's port when this module starts, so auth
 * does not depend on keys).
 */
import { Inject, Module, OnModuleInit } from '@nestjs/common';
import { CLOCK, Clock } from '../../platform/clock';
import { EVENT_STORE, EventStore } from '../../platform/event-store/event-store.port';
import { ManagementKeyAuthenticators, ManagementKeyAuthenticatorsModule } from '../../auth/http/management-key.port';
import { ManagementKeyAuthenticator } from './management-key-authenticator';
import { ManagementKeysRepository } from './management-keys.repository';
import { ManagementKeysService } from './management-keys.service';
import { AccountNames } from '../../compliance/account-names';
import { ComplianceModule } from '../../compliance/compliance.module';

@Module({
  imports: [ManagementKeyAuthenticatorsModule, ComplianceModule],
  providers: [
    ManagementKeysRepository,
    {
      provide: ManagementKeysService,
      inject: [EVENT_STORE, ManagementKeysRepository, CLOCK, AccountNames],
      useFactory: (store: EventStore, repo: ManagementKeysRepository, clock: Clock, names: AccountNames) => new ManagementKeysService(store, repo, clock, names),
    },
    {
      provide: ManagementKeyAuthenticator,
      inject: [ManagementKeysRepository, CLOCK],
      useFactory: (repo: ManagementKeysRepository, clock: Clock) => new ManagementKeyAuthenticator(repo, clock),
    },
  ],
  exports: [ManagementKeysService, ManagementKeyAuthenticator],
})
export class ManagementKeysModule implements OnModuleInit {
  constructor(
    private readonly registry: ManagementKeyAuthenticators,
    @Inject(ManagementKeyAuthenticator) private readonly authenticator: ManagementKeyAuthenticator,
  ) {}

  onModuleInit(): void {
    this.registry.register(this.authenticator);
  }
}
