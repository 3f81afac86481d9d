/**
 * Reconciliation with every reconciler this build offers (Stripe's, the chains'; each registers
 * itself when configured), for `tollgate payments reconcile` and the staff API.
 */
import { Module } from '@nestjs/common';
import { CryptoReconcileModule } from '../crypto/reconcile/crypto-reconcile.module';
import { StripeReconcileModule } from '../stripe/stripe-reconcile.module';
import { ReconcilersModule } from './reconciler-registry';
import { Reconciliation } from './reconciliation.service';

@Module({
  imports: [ReconcilersModule, CryptoReconcileModule, StripeReconcileModule],
  providers: [Reconciliation],
  exports: [Reconciliation],
})
export class ReconcileModule {}
