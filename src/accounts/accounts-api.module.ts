import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { LowBalanceAlertsModule } from '../payments/alerts/low-balance-alerts.module';
import { AccountsModule } from './accounts.module';
import { MeController } from './http/me.controller';

/** The accounts context's routes in the account API (`/api/me`). */
@Module({
  imports: [AccountsModule, AuthModule, LowBalanceAlertsModule],
  controllers: [MeController],
})
export class AccountsApiModule {}
