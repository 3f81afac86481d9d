import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { RetriedStartup } from '../src/platform/startup/retried-startup';
import { ProjectionReadModels } from './projection-read-models';

/** In the worker (or an API that runs the workers): keeps every read model following the log until shutdown. */
@Injectable()
export class ProjectionWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('ProjectionWorker');
  private readonly startup = new RetriedStartup(this.log, 'starting the read models', async () => {
    await this.readModels.runner.start();
    this.log.log('read models are following the event log');
  });

  constructor(private readonly readModels: ProjectionReadModels) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.startup.start();
  }

  async onModuleDestroy(): Promise<void> {
    this.startup.stop();
    await this.readModels.runner.stop();
  }
}
