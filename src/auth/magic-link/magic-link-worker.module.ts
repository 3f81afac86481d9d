import { Module } from '@nestjs/common';
import { SecretBoxModule } from '../../platform/crypto/secret-box';
import { MagicLinkPurgeJob } from './magic-link-purge.job';
import { MagicLinkTokensRepository } from './magic-link-tokens.repository';

/** Sign-in links' background job: the purge of expired links. */
@Module({
  imports: [SecretBoxModule],
  providers: [MagicLinkTokensRepository, MagicLinkPurgeJob],
})
export class MagicLinkWorkerModule {}
