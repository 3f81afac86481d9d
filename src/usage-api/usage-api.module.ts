/**
 * The account API's reads of money and usage (issue 19). Reads only: the ledger's read models,
 * the request log and the usage rollup beside it (migrations/013). The proxy module lends the
 * request log's repository, so a receipt asked for right after its answer waits for its row
 * exactly as GET /v1/generations/{id} does.
 */
import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { LedgerModule } from '../ledger/ledger.module';
import { ProxyModule } from '../proxy/proxy.module';
import { AccountReadsRepository } from './application/account-reads.repository';
import { AccountReadsController } from './http/account-reads.controller';
import { ComplianceModule } from '../compliance/compliance.module';

@Module({
  imports: [AuthModule, LedgerModule, ProxyModule, ComplianceModule],
  controllers: [AccountReadsController],
  providers: [AccountReadsRepository],
})
export class UsageApiModule {}
