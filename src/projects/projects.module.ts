/**
 * Projects: an account's keys grouped by project (`project-<id>` streams, the projects read
 * model), and the one-time start step that gives keys made before projects existed their
 * project (ProjectBackfill). Exports ProjectsService; registers the projects rebuild that
 * `ledger replay` runs. The account API's routes are in http/ (ProjectsHttpModule).
 */
import { Inject, Injectable, Logger, Module, OnApplicationBootstrap, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { Pool } from 'pg';
import { CLOCK, Clock } from '../platform/clock';
import { PG_POOL } from '../platform/database/pg';
import { EVENT_STORE, EventStore } from '../platform/event-store/event-store.port';
import { ReadModelRebuilders, ReadModelRebuildersModule } from '../platform/read-models/read-model-rebuilders';
import { RetriedStartup } from '../platform/startup/retried-startup';
import { ApiKeysRepository } from '../keys/application/api-keys.repository';
import { KeysService } from '../keys/application/keys.service';
import { KeysModule } from '../keys/keys.module';
import { ProjectBackfill } from './application/project-backfill';
import { ProjectsRepository } from './application/projects.repository';
import { ProjectsService } from './application/projects.service';
import { AccountNames } from '../compliance/account-names';
import { ComplianceModule } from '../compliance/compliance.module';

/** In the API process only (as KeysApiStartup): the CLI and the worker skip it. */
@Injectable()
export class ProjectsApiStartup implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly startup: RetriedStartup;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    backfill: ProjectBackfill,
  ) {
    this.startup = new RetriedStartup(new Logger('Projects'), 'giving old keys their projects', () => backfill.run());
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.adapterHost.httpAdapter) return;
    await this.startup.start();
  }

  onModuleDestroy(): void {
    this.startup.stop();
  }
}

@Module({
  imports: [ReadModelRebuildersModule, KeysModule, ComplianceModule],
  providers: [
    ProjectsRepository,
    {
      provide: ProjectsService,
      inject: [EVENT_STORE, PG_POOL, ProjectsRepository, KeysService, ApiKeysRepository, CLOCK, AccountNames],
      useFactory: (store: EventStore, pool: Pool, repo: ProjectsRepository, keys: KeysService, keyRows: ApiKeysRepository, clock: Clock, names: AccountNames) =>
        new ProjectsService(store, pool, repo, keys, keyRows, clock, names),
    },
    {
      provide: ProjectBackfill,
      inject: [PG_POOL, ProjectsService, KeysService, ApiKeysRepository],
      useFactory: (pool: Pool, projects: ProjectsService, keys: KeysService, keyRows: ApiKeysRepository) => new ProjectBackfill(pool, projects, keys, keyRows),
    },
    ProjectsApiStartup,
  ],
  exports: [ProjectsService, ProjectBackfill, KeysModule],
})
export class ProjectsModule implements OnModuleInit {
  constructor(
    private readonly rebuilders: ReadModelRebuilders,
    @Inject(ProjectsService) private readonly projects: ProjectsService,
  ) {}

  /** `ledger replay` rebuilds the projects rows from their streams too. */
  onModuleInit(): void {
    this.rebuilders.register({ name: 'projects', rebuild: (onProgress) => this.projects.rebuildReadModel(onProgress) });
  }
}
