/** POST /staff/payments/reconcile on the API. */
import { Module } from '@nestjs/common';
import { AuditModule } from '../../../audit/audit.module';
import { AuthModule } from '../../../auth/auth.module';
import { ReconcileModule } from '../reconcile.module';
import { StaffReconcileController } from './staff-reconcile.controller';

@Module({
  imports: [AuthModule, AuditModule, ReconcileModule],
  controllers: [StaffReconcileController],
})
export class ReconcileApiModule {}
