/** What the refunds service needs, shared by the API module and the CLI's (which also import StripeClientModule). */
import { Provider } from '@nestjs/common';
import { PurchasesReader } from './application/purchases';
import { RefundMail } from './application/refund-mail';
import { RefundRequestsRepository } from './application/refund-requests.repository';
import { RefundRequestsService } from './application/refund-requests.service';

export const REFUND_SERVICE_PROVIDERS: Provider[] = [
  PurchasesReader,
  RefundMail,
  RefundRequestsRepository,
  RefundRequestsService,
];
