/** `tollgate codes`, `tollgate payments …`: payments' commands. */
import { Module } from '@nestjs/common';
import { CodesCliModule } from './codes/cli/codes-cli.module';

@Module({
  imports: [CodesCliModule],
})
export class PaymentsCliModule {}
