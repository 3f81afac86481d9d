import { ContextModules } from '../shared/context-modules';
import { AccountsModule } from './accounts.module';
import { AccountsCliModule } from './cli/accounts-cli.module';

export const ACCOUNTS_CONTEXT: ContextModules = { name: 'accounts', api: AccountsModule, cli: AccountsCliModule };
