/**
 * Signing in and staying signed in: sessions, the account guard (session cookie or management
 * key, CSRF) and, beside them, each sign-in method's routes (magic link, OAuth, passkeys,
 * passwords) and `GET /auth/methods`, which says which of them are on. Modules with
 * account-API controllers import this for AccountGuard's needs.
 */
import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module';
import { AccountGuard } from './http/account-guard';
import { ManagementKeyAuthenticatorsModule } from './http/management-key.port';
import { SessionsController } from './sessions/sessions.controller';
import { SessionsService } from './sessions/sessions.service';
import { MailModule } from '../platform/mail/mail.module';
import { SignInMethodsController } from './sign-in-methods/sign-in-methods.controller';

@Module({
  imports: [AccountsModule, ManagementKeyAuthenticatorsModule, MailModule],
  controllers: [SessionsController, SignInMethodsController],
  providers: [SessionsService, AccountGuard],
  exports: [SessionsService, AccountGuard, AccountsModule, ManagementKeyAuthenticatorsModule],
})
export class AuthModule {}
