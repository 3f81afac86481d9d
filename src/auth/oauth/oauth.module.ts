/** OAuth 2 / OpenID Connect sign-in (Google, GitHub, OIDC_PROVIDERS): its routes and their parts. */
import { Module } from '@nestjs/common';
import { SecretBoxModule } from '../../platform/crypto/secret-box';
import { AuthModule } from '../auth.module';
import { OAuthClients } from './oauth-clients';
import { OAuthSignIn } from './oauth-sign-in.service';
import { UsedOAuthStates } from './oauth-used-states';
import { OAuthController } from './oauth.controller';

@Module({
  imports: [AuthModule, SecretBoxModule],
  controllers: [OAuthController],
  providers: [OAuthClients, OAuthSignIn, UsedOAuthStates],
})
export class OAuthModule {}
