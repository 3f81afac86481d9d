/**
 * LedgerReports for the CLI and the staff API. Its own module because it needs the ReadModels
 * port, which only the entry points provide (the global ProjectionsModule), while LedgerModule
 * itself is also composed without them.
 */
import { Module } from '@nestjs/common';
import { LedgerModule } from '../ledger.module';
import { LedgerReports } from './ledger-reports.service';

@Module({
  imports: [LedgerModule],
  providers: [LedgerReports],
  exports: [LedgerReports],
})
export class LedgerReportsModule {}
