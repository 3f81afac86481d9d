/**
 * Read models as Nest modules. ProjectionsModule is global: it provides the ledger's
 * ReadModels port (ledger code injects the port, never this folder), so every entry point
 * composes it once. ProjectionsWorkerModule keeps the read models following the log.
 */
import { Global, Module } from '@nestjs/common';
import { ReadModels } from '../src/ledger/application/read-models';
import { ProjectionReadModels } from './projection-read-models';
import { ProjectionWorker } from './projection-worker';

@Global()
@Module({
  providers: [ProjectionReadModels, { provide: ReadModels, useExisting: ProjectionReadModels }],
  exports: [ProjectionReadModels, ReadModels],
})
export class ProjectionsModule {}

@Module({
  imports: [ProjectionsModule],
  providers: [ProjectionWorker],
})
export class ProjectionsWorkerModule {}
