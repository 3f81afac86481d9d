/**
 * The ledger context. One way to send a ledger command: through the CommandBus. Every sender
 * (billing on the request path, the settle journal, the hold expiry job, accounts, the CLI)
 * sends ExecuteAccountCommand (or GrantPromoCreditsCommand, which answers with the balance
 * after), and the handlers pass it to LedgerService's per-account lanes, which load, decide
 * and append. Chosen over a typed port because the bus costs the request path one small
 * command object and a map lookup, and the design card names @nestjs/cqrs for commands.
 * LedgerService stays injectable for reads (load, cachedState), never to send a command; tests
 * and benchmarks drive it directly.
 *
 * The service is built by a factory because its third constructor argument is plain options,
 * not an injectable. CqrsModule.forRoot() is global, so every context can inject the CommandBus.
 */
import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { APP_CONFIG, AppConfig } from '../config/config';
import { CLOCK, Clock } from '../platform/clock';
import { EVENT_STORE, EventStore } from '../platform/event-store/event-store.port';
import { LedgerService } from './application/ledger.service';
import { ExecuteAccountHandler } from './application/execute-account.handler';
import { GrantPromoCreditsHandler } from './application/grant-promo-credits.handler';
import { LedgerReadRepository } from './application/ledger-read.repository';
import { OpenHoldsRepository } from './application/open-holds.repository';
import { ProcessingRestriction } from './application/processing-restriction';
import { MetricsRegistry } from '../platform/metrics/metrics-registry';

// A group commit is a millisecond or so on a quiet disk; tens of ms means fsync or lock trouble.
const APPEND_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

@Module({
  imports: [CqrsModule.forRoot()],
  providers: [
    {
      provide: LedgerService,
      inject: [EVENT_STORE, CLOCK, { token: MetricsRegistry, optional: true }, { token: APP_CONFIG, optional: true }],
      // The metrics registry is there in the API and the worker, not in the CLI.
      useFactory: (store: EventStore, clock: Clock, metrics?: MetricsRegistry, config?: AppConfig) =>
        new LedgerService(store, clock, {
          joinWindowMs: config?.LEDGER_SETTLE_JOIN_MS,
          appendSeconds: metrics?.histogram('tollgate_ledger_append_seconds', "Appends of the ledger's account streams (one group commit each), in seconds", [], APPEND_BUCKETS),
        }),
    },
    ExecuteAccountHandler,
    GrantPromoCreditsHandler,
    LedgerReadRepository,
    OpenHoldsRepository,
    ProcessingRestriction,
  ],
  exports: [LedgerService, LedgerReadRepository, OpenHoldsRepository, ProcessingRestriction],
})
export class LedgerModule {}
