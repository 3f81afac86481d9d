/** The chain scan job (worker side): ChainScanner every CRYPTO_SCAN_INTERVAL_MS. */
import { Module } from '@nestjs/common';
import { AccountsModule } from '../../accounts/accounts.module';
import { LedgerModule } from '../../ledger/ledger.module';
import { ReceiptsModule } from '../receipts/receipts.module';
import { ChainClients } from './application/chain-clients';
import { ChainScanner } from './application/chain-scanner';
import { CryptoCreditsService } from './application/crypto-credits.service';
import { CryptoRepository } from './application/crypto.repository';
import { ChainScanJob } from './jobs/chain-scan.job';

@Module({
  imports: [AccountsModule, LedgerModule, ReceiptsModule],
  providers: [ChainClients, CryptoRepository, CryptoCreditsService, ChainScanner, ChainScanJob],
})
export class CryptoWorkerModule {}
