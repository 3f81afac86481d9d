/** What the refunds service needs, shared by the API module and the CLI's. */
import { Provider } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { STRIPE_CLIENT, stripeClientFrom } from '../stripe/stripe-client';
import { PurchasesReader } from './application/purchases';
import { RefundMail } from './application/refund-mail';
import { RefundRequestsRepository } from './application/refund-requests.repository';
import { RefundRequestsService } from './application/refund-requests.service';

export const REFUND_SERVICE_PROVIDERS: Provider[] = [
  { provide: STRIPE_CLIENT, inject: [APP_CONFIG], useFactory: (config: AppConfig) => stripeClientFrom(config) },
  PurchasesReader,
  RefundMail,
  RefundRequestsRepository,
  RefundRequestsService,
];
