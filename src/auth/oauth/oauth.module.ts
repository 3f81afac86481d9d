/** OAuth 2 / OpenID Connect sign-in (Google, GitHub, OIDC_PROVIDERS): its routes and their parts. */
import { Module } from '@nestjs/common';
import { AccountsModule } from '../../accounts/accounts.module';
import { SecretBoxModule } from '../../platform/crypto/secret-box';
import { OAuthClients } from './oauth-clients';
import { OAuthSignIn } from './oauth-sign-in.service';
import { UsedOAuthStates } from './oauth-used-states';
import { OAuthController } from './oauth.controller';

@Module({
  imports: [AccountsModule, SecretBoxModule],
  controllers: [OAuthController],
  providers: [OAuthClients, OAuthSignIn, UsedOAuthStates],
})
export class OAuthModule {}
