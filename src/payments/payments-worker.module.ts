/** Payments' background jobs: receipts that waited (and, with their parts, the chain scanner and balance alerts). */
import { Module } from '@nestjs/common';
import { LowBalanceAlertsWorkerModule } from './alerts/low-balance-alerts.module';
import { CryptoWorkerModule } from './crypto/crypto-worker.module';
import { ReceiptRetryJob } from './receipts/receipt-retry.job';
import { ReceiptsModule } from './receipts/receipts.module';

@Module({
  imports: [ReceiptsModule, CryptoWorkerModule, LowBalanceAlertsWorkerModule],
  providers: [ReceiptRetryJob],
})
export class PaymentsWorkerModule {}
