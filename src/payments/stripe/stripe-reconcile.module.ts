/** The Stripe reconciler alone (no routes), registered with `tollgate payments reconcile` when Stripe is configured. */
import { Inject, Module, OnModuleInit } from '@nestjs/common';
import { STRIPE_CLIENT, StripeClient } from './stripe-client';
import { StripeClientModule } from './stripe-client.module';
import { StripeReconciler } from './stripe-reconciler';
import { Reconcilers, ReconcilersModule } from '../reconcile/reconciler-registry';

@Module({
  imports: [StripeClientModule, ReconcilersModule],
  providers: [StripeReconciler],
  exports: [StripeReconciler],
})
export class StripeReconcileModule implements OnModuleInit {
  constructor(
    private readonly reconcilers: Reconcilers,
    private readonly stripeReconciler: StripeReconciler,
    @Inject(STRIPE_CLIENT) private readonly stripe: StripeClient,
  ) {}

  onModuleInit(): void {
    if (this.stripe) this.reconcilers.register(this.stripeReconciler);
  }
}
