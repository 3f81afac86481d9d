/**
 * The staff audit trail (StaffAudit), for every context's staff routes and commands to record
 * what staff do; registers the staff_audit rebuild that `ledger replay` runs. Needs the
 * global DatabaseModule and EventStoreModule.
 */
import { Module, OnModuleInit } from '@nestjs/common';
import { ComplianceModule } from '../compliance/compliance.module';
import { ReadModelRebuilders, ReadModelRebuildersModule } from '../platform/read-models/read-model-rebuilders';
import { StaffAudit } from './application/staff-audit.service';
import { StaffAuditRepository } from './application/staff-audit.repository';

@Module({
  imports: [ComplianceModule, ReadModelRebuildersModule],
  providers: [StaffAuditRepository, StaffAudit],
  exports: [StaffAudit],
})
export class AuditModule implements OnModuleInit {
  constructor(
    private readonly rebuilders: ReadModelRebuilders,
    private readonly audit: StaffAudit,
  ) {}

  onModuleInit(): void {
    this.rebuilders.register({ name: 'staff_audit', rebuild: (onProgress) => this.audit.rebuild(onProgress) });
  }
}
