import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module';
import { SessionPurgeJob } from './jobs/session-purge.job';
import { SessionsService } from './sessions/sessions.service';

/** The auth context's background jobs: the purge of expired sessions. */
@Module({
  imports: [AccountsModule],
  providers: [SessionsService, SessionPurgeJob],
})
export class AuthWorkerModule {}
