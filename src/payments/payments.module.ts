/**
 * Payments on the API (issue 20): redemption codes, Stripe Checkout and its webhooks, USDC/USDT
 * intents and claims, refund requests, low-balance alerts, reconciliation for staff. Each part is its own module below.
 */
import { Module } from '@nestjs/common';
import { CryptoModule } from './crypto/crypto.module';
import { CodesModule } from './codes/codes.module';
import { ReceiptsModule } from './receipts/receipts.module';
import { ReconcileApiModule } from './reconcile/http/reconcile-api.module';
import { RefundsModule } from './refunds/refunds.module';
import { StripeModule } from './stripe/stripe.module';

@Module({
  imports: [CodesModule, ReceiptsModule, RefundsModule, CryptoModule, StripeModule, ReconcileApiModule],
})
export class PaymentsModule {}
