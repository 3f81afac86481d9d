/** `tollgate codes`, `tollgate payments …`: payments' commands. */
import { Module } from '@nestjs/common';
import { CodesCliModule } from './codes/cli/codes-cli.module';
import { RefundsCliModule } from './refunds/cli/refunds-cli.module';

@Module({
  imports: [CodesCliModule, RefundsCliModule],
})
export class PaymentsCliModule {}
