/** What the incidents service needs, shared by the API module and the CLI's. */
import { Provider } from '@nestjs/common';
import { IncidentsRepository } from './application/incidents.repository';
import { IncidentsService } from './application/incidents.service';
import { NoticesQueue } from './application/notices-queue';

export const INCIDENT_SERVICE_PROVIDERS: Provider[] = [IncidentsRepository, IncidentsService, NoticesQueue];
