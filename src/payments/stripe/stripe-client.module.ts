/** The configured Stripe SDK (or null) as STRIPE_CLIENT, for the API, the worker and the CLI. */
import { Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { STRIPE_CLIENT, stripeClientFrom } from './stripe-client';

@Module({
  providers: [{ provide: STRIPE_CLIENT, inject: [APP_CONFIG], useFactory: (config: AppConfig) => stripeClientFrom(config) }],
  exports: [STRIPE_CLIENT],
})
export class StripeClientModule {}
