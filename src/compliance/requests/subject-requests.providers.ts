/** What the requests service needs, shared by the API module and the CLI's. */
import { Provider } from '@nestjs/common';
import { SubjectRequestsRepository } from './application/subject-requests.repository';
import { SubjectRequestsService } from './application/subject-requests.service';

export const SUBJECT_REQUEST_PROVIDERS: Provider[] = [SubjectRequestsRepository, SubjectRequestsService];
