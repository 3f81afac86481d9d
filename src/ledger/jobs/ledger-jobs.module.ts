import { Module } from '@nestjs/common';
import { LedgerModule } from '../ledger.module';
import { HoldExpirySweeper } from './hold-expiry.job';

/**
 * The ledger's background jobs, each a provider that starts in onApplicationBootstrap and stops
 * in onModuleDestroy (before the event store and the pool close).
 */
@Module({
  imports: [LedgerModule],
  providers: [HoldExpirySweeper],
})
export class LedgerJobsModule {}
