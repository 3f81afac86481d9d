/** `tollgate codes`, `tollgate payments …`: payments' commands. */
import { Module } from '@nestjs/common';
import { CodesCliModule } from './codes/cli/codes-cli.module';
import { PaymentsCommand } from './payments.command';
import { ReconcileCommand } from './reconcile/reconcile.command';
import { ReconcileModule } from './reconcile/reconcile.module';
import { RefundsCliModule } from './refunds/cli/refunds-cli.module';

@Module({
  imports: [CodesCliModule, RefundsCliModule, ReconcileModule],
  providers: [PaymentsCommand, ReconcileCommand],
})
export class PaymentsCliModule {}
