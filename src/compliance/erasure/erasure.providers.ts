/** What erase() needs (modules and providers), shared by the API module and the CLI's. */
import { Provider } from '@nestjs/common';
import { AccountsModule } from '../../accounts/accounts.module';
import { AuditModule } from '../../audit/audit.module';
import { KeysModule } from '../../keys/keys.module';
import { ManagementKeysModule } from '../../keys/management/management-keys.module';
import { LedgerModule } from '../../ledger/ledger.module';
import { REFUND_SERVICE_PROVIDERS } from '../../payments/refunds/refunds.providers';
import { StripeClientModule } from '../../payments/stripe/stripe-client.module';
import { MailModule } from '../../platform/mail/mail.module';
import { ReadModelRebuildersModule } from '../../platform/read-models/read-model-rebuilders';
import { ComplianceModule } from '../compliance.module';
import { ErasureCredit } from './application/erasure-credit';
import { ErasureRepository } from './application/erasure.repository';
import { ErasureService } from './application/erasure.service';

export const ERASURE_IMPORTS = [AccountsModule, AuditModule, ComplianceModule, KeysModule, ManagementKeysModule, LedgerModule, MailModule, ReadModelRebuildersModule, StripeClientModule];

// The refunds service's own providers (not RefundsModule, whose routes would come along).
export const ERASURE_PROVIDERS: Provider[] = [...REFUND_SERVICE_PROVIDERS, ErasureRepository, ErasureCredit, ErasureService];
