import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ReadModels } from './read-models';

/** In the worker process: keeps every read model following the log until shutdown. */
@Injectable()
export class ProjectionWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('ProjectionWorker');

  constructor(private readonly readModels: ReadModels) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.readModels.runner.start();
    this.log.log('read models are following the event log');
  }

  async onModuleDestroy(): Promise<void> {
    await this.readModels.runner.stop();
  }
}
