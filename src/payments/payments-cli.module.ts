/** `tollgate codes`, `tollgate payments …`: payments' commands. */
import { Module } from '@nestjs/common';
import { CryptoReconcileModule } from './crypto/reconcile/crypto-reconcile.module';
import { CodesCliModule } from './codes/cli/codes-cli.module';
import { PaymentsCommand } from './payments.command';
import { ReconcileCommand } from './reconcile/reconcile.command';
import { ReconcilersModule } from './reconcile/reconciler-registry';
import { RefundsCliModule } from './refunds/cli/refunds-cli.module';

@Module({
  imports: [CodesCliModule, RefundsCliModule, ReconcilersModule, CryptoReconcileModule],
  providers: [PaymentsCommand, ReconcileCommand],
})
export class PaymentsCliModule {}
