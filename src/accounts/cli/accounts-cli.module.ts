import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts.module';
import { AccountsCommand } from './accounts.command';
import { CreateAccountCommand } from './create-account.command';

/** `tollgate accounts`. */
@Module({ imports: [AccountsModule], providers: [AccountsCommand, CreateAccountCommand] })
export class AccountsCliModule {}
