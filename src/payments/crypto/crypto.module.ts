/**
 * USDC/USDT on Base and Ethereum (issue 20): intents and claims on the account API, the chain
 * scanner (run by CryptoWorkerModule's job; injectable here too), and crediting once per
 * (chain, tx hash, log index). No private keys are held: the chain is only read.
 */
import { Module } from '@nestjs/common';
import { AccountsModule } from '../../accounts/accounts.module';
import { AuthModule } from '../../auth/auth.module';
import { LedgerModule } from '../../ledger/ledger.module';
import { ReceiptsModule } from '../receipts/receipts.module';
import { ChainClients } from './application/chain-clients';
import { ChainScanner } from './application/chain-scanner';
import { ClaimsService } from './application/claims.service';
import { CryptoCreditsService } from './application/crypto-credits.service';
import { CryptoRepository } from './application/crypto.repository';
import { IntentsService } from './application/intents.service';
import { CryptoController } from './http/crypto.controller';

@Module({
  imports: [AuthModule, AccountsModule, LedgerModule, ReceiptsModule],
  controllers: [CryptoController],
  providers: [ChainClients, CryptoRepository, CryptoCreditsService, ChainScanner, IntentsService, ClaimsService],
  exports: [ChainScanner, ChainClients, CryptoRepository],
})
export class CryptoModule {}
