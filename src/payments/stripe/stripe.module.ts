/**
 * Card payments through Stripe (issue 20): POST /api/billing/checkout, POST /webhooks/stripe
 * (payments, refunds and disputes into the ledger, each payment its own `stripe-<pi>` stream),
 * and the reconciler `tollgate payments reconcile` uses (StripeReconcileModule).
 */
import { Module } from '@nestjs/common';
import { AuthModule } from '../../auth/auth.module';
import { LedgerModule } from '../../ledger/ledger.module';
import { ReceiptsModule } from '../receipts/receipts.module';
import { RefundsModule } from '../refunds/refunds.module';
import { CheckoutService } from './application/checkout.service';
import { StripeWebhookService } from './application/stripe-webhook.service';
import { CheckoutController } from './http/checkout.controller';
import { StripeWebhookRoutes } from './http/stripe-webhook.routes';
import { StripeClientModule } from './stripe-client.module';
import { StripeReconcileModule } from './stripe-reconcile.module';

@Module({
  imports: [AuthModule, LedgerModule, ReceiptsModule, RefundsModule, StripeClientModule, StripeReconcileModule],
  controllers: [CheckoutController],
  providers: [CheckoutService, StripeWebhookService, StripeWebhookRoutes],
  exports: [StripeWebhookService, StripeReconcileModule],
})
export class StripeModule {}
