/** The Stripe reconciler alone (no routes), for `tollgate payments reconcile` in the CLI. */
import { Module } from '@nestjs/common';
import { StripeClientModule } from './stripe-client.module';
import { StripeReconciler } from './stripe-reconciler';

@Module({
  imports: [StripeClientModule],
  providers: [StripeReconciler],
  exports: [StripeReconciler],
})
export class StripeReconcileModule {}
