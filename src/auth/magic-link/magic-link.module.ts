/** Sign-in links by mail: the routes, the token table, the hourly limits. */
import { Module } from '@nestjs/common';
import { SecretBoxModule } from '../../platform/crypto/secret-box';
import { MailModule } from '../../platform/mail/mail.module';
import { AuthModule } from '../auth.module';
import { MagicLinkController } from './magic-link.controller';
import { MagicLinkLimiter } from './magic-link-limiter';
import { MagicLinkService } from './magic-link.service';
import { MagicLinkTokensRepository } from './magic-link-tokens.repository';

@Module({
  imports: [AuthModule, MailModule, SecretBoxModule],
  controllers: [MagicLinkController],
  providers: [MagicLinkService, MagicLinkTokensRepository, MagicLinkLimiter],
  exports: [MagicLinkService, MagicLinkTokensRepository, MagicLinkLimiter],
})
export class MagicLinkModule {}
