/** Data exports in the worker: the build worker (queue data-export), which also runs the 24-hour purge. */
import { Module } from '@nestjs/common';
import { ExportModule } from './export.module';
import { ExportBuildWorker } from './jobs/export-build.worker';

@Module({
  imports: [ExportModule],
  providers: [ExportBuildWorker],
})
export class ExportWorkerModule {}
