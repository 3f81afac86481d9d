/**
 * Signing in and staying signed in: sessions, the account guard (session cookie or management
 * key, CSRF) and, beside them, each sign-in method's routes (magic link, OAuth, passkeys,
 * passwords). Modules with account-API controllers import this for AccountGuard's needs.
 */
import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module';
import { AccountGuard } from './http/account-guard';
import { ManagementKeyAuthenticatorsModule } from './http/management-key.port';
import { SessionsController } from './sessions/sessions.controller';
import { SessionsService } from './sessions/sessions.service';

@Module({
  imports: [AccountsModule, ManagementKeyAuthenticatorsModule],
  controllers: [SessionsController],
  providers: [SessionsService, AccountGuard],
  exports: [SessionsService, AccountGuard, AccountsModule, ManagementKeyAuthenticatorsModule],
})
export class AuthModule {}
