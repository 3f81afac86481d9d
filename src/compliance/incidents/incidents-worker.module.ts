/** The breach-notice senders of the worker process (queue 'incident-notices'). */
import { Module } from '@nestjs/common';
import { AccountsModule } from '../../accounts/accounts.module';
import { MailModule } from '../../platform/mail/mail.module';
import { IncidentsRepository } from './application/incidents.repository';
import { NoticeSender } from './application/notice-sender';
import { IncidentNoticesJob } from './jobs/incident-notices.job';

@Module({
  imports: [AccountsModule, MailModule],
  providers: [IncidentsRepository, NoticeSender, IncidentNoticesJob],
})
export class IncidentsWorkerModule {}
