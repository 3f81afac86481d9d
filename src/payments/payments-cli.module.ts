/** `tollgate codes`, `tollgate payments …`: payments' commands. */
import { Module } from '@nestjs/common';
import { CryptoReconcileModule } from './crypto/reconcile/crypto-reconcile.module';
import { CodesCliModule } from './codes/cli/codes-cli.module';

@Module({
  imports: [CodesCliModule, CryptoReconcileModule],
})
export class PaymentsCliModule {}
