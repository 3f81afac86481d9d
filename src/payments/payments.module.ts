/**
 * Payments on the API (issue 20): redemption codes, Stripe Checkout and its webhooks, USDC/USDT
 * intents and claims, refund requests, low-balance alerts. Each part is its own module below.
 */
import { Module } from '@nestjs/common';
import { CryptoModule } from './crypto/crypto.module';
import { CodesModule } from './codes/codes.module';
import { ReceiptsModule } from './receipts/receipts.module';
import { RefundsModule } from './refunds/refunds.module';

@Module({
  imports: [CodesModule, ReceiptsModule, RefundsModule, CryptoModule],
})
export class PaymentsModule {}
