import { Module } from '@nestjs/common';
import { AccountsModule } from '../../accounts/accounts.module';
import { LedgerModule } from '../../ledger/ledger.module';
import { MailModule } from '../../platform/mail/mail.module';
import { ReceiptsService } from './receipts.service';

/** Receipts of purchases (card and crypto): ReceiptsService.issue once a credit is durable. */
@Module({
  imports: [AccountsModule, LedgerModule, MailModule],
  providers: [ReceiptsService],
  exports: [ReceiptsService],
})
export class ReceiptsModule {}
