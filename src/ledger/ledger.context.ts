import { ContextModules } from '../shared/context-modules';
import { LedgerModule } from './ledger.module';
import { LedgerCliModule } from './cli/ledger-cli.module';
import { LedgerJobsModule } from './jobs/ledger-jobs.module';

export const LEDGER_CONTEXT: ContextModules = { name: 'ledger', api: LedgerModule, worker: LedgerJobsModule, cli: LedgerCliModule };
