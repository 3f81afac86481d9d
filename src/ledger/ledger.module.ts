/**
 * The ledger context: account commands go through the CommandBus to LedgerService, which
 * loads, decides and appends. The service is built by a factory because its third
 * constructor argument is plain options, not an injectable. CqrsModule.forRoot() is global,
 * so every context can inject the CommandBus.
 */
import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { CLOCK, Clock } from '../platform/clock';
import { EVENT_STORE, EventStore } from '../platform/event-store/event-store.port';
import { LedgerService } from './application/ledger.service';
import { ExecuteAccountHandler } from './application/execute-account.handler';
import { LedgerReadRepository } from './application/ledger-read.repository';

@Module({
  imports: [CqrsModule.forRoot()],
  providers: [
    {
      provide: LedgerService,
      inject: [EVENT_STORE, CLOCK],
      useFactory: (store: EventStore, clock: Clock) => new LedgerService(store, clock),
    },
    ExecuteAccountHandler,
    LedgerReadRepository,
  ],
  exports: [LedgerService, LedgerReadRepository],
})
export class LedgerModule {}
