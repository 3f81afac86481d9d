/** `tollgate codes`, `tollgate payments …`: payments' commands. */
import { Module } from '@nestjs/common';
import { CodesCliModule } from './codes/cli/codes-cli.module';
import { StripeReconcileModule } from './stripe/stripe-reconcile.module';

@Module({
  imports: [CodesCliModule, StripeReconcileModule],
})
export class PaymentsCliModule {}
