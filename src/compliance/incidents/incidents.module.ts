/**
 * Breach incidents (issue 21): the staff routes under /staff/incidents and the service the CLI
 * shares. The notices are sent by the worker (incidents-worker.module.ts).
 */
import { Module, OnModuleInit } from '@nestjs/common';
import { AuditModule } from '../../audit/audit.module';
import { AuthModule } from '../../auth/auth.module';
import { ReadModelRebuilders, ReadModelRebuildersModule } from '../../platform/read-models/read-model-rebuilders';
import { IncidentsService } from './application/incidents.service';
import { StaffIncidentsController } from './http/staff-incidents.controller';
import { INCIDENT_SERVICE_PROVIDERS } from './incidents.providers';

@Module({
  imports: [AuditModule, AuthModule, ReadModelRebuildersModule],
  controllers: [StaffIncidentsController],
  providers: INCIDENT_SERVICE_PROVIDERS,
  exports: [IncidentsService],
})
export class IncidentsModule implements OnModuleInit {
  constructor(
    private readonly rebuilders: ReadModelRebuilders,
    private readonly incidents: IncidentsService,
  ) {}

  /** `ledger replay` rewrites the incidents rows from their streams too. */
  onModuleInit(): void {
    this.rebuilders.register({ name: 'incidents', rebuild: (onProgress) => this.incidents.rebuild(onProgress) });
  }
}
