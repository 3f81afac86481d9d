/** `tollgate compliance incident …`: the incidents service without the HTTP routes. */
import { Module, OnModuleInit } from '@nestjs/common';
import { AuditModule } from '../../audit/audit.module';
import { ReadModelRebuilders, ReadModelRebuildersModule } from '../../platform/read-models/read-model-rebuilders';
import { IncidentsService } from './application/incidents.service';
import { INCIDENT_VERBS, IncidentCommand } from './cli/incident.commands';
import { INCIDENT_SERVICE_PROVIDERS } from './incidents.providers';

@Module({
  imports: [AuditModule, ReadModelRebuildersModule],
  providers: [...INCIDENT_SERVICE_PROVIDERS, IncidentCommand, ...INCIDENT_VERBS],
})
export class IncidentsCliModule implements OnModuleInit {
  constructor(
    private readonly rebuilders: ReadModelRebuilders,
    private readonly incidents: IncidentsService,
  ) {}

  onModuleInit(): void {
    this.rebuilders.register({ name: 'incidents', rebuild: (onProgress) => this.incidents.rebuild(onProgress) });
  }
}
