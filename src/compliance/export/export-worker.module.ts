/** Data exports in the worker: the build worker (queue data-export) and the 24-hour purge. */
import { Module } from '@nestjs/common';
import { ExportModule } from './export.module';
import { ExportBuildWorker } from './jobs/export-build.worker';
import { ExportPurgeJob } from './jobs/export-purge.job';

@Module({
  imports: [ExportModule],
  providers: [ExportBuildWorker, ExportPurgeJob],
})
export class ExportWorkerModule {}
