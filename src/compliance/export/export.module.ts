/**
 * Data exports (issue 21, "Data export (portability)"): what the API, the worker and the CLI
 * share (the service, the sections, storage, the queue). The three modules below add their
 * surface: routes (export-api.module.ts), the build worker and the purge job
 * (export-worker.module.ts), `tollgate compliance export` (export-cli.module.ts).
 *
 * Another part adds a section of its own with one provider that registers it:
 *   @Injectable() class MySection implements OnModuleInit {
 *     constructor(private readonly registry: ExportSectionRegistry) {}
 *     onModuleInit() { this.registry.register(sqlSection({ name: 'my_things', … })); }
 *   }
 * provided in a module that imports ExportModule.
 */
import { Module } from '@nestjs/common';
import { ComplianceModule } from '../compliance.module';
import { ExportSectionRegistry } from './application/export-section';
import { ExportStorage } from './application/export-storage';
import { ExportQueue } from './application/export-queue';
import { ExportsRepository } from './application/exports.repository';
import { ExportsService } from './application/exports.service';
import { BuiltInExportSections } from './application/sections/built-in.sections';
import { ExportErasureHook } from './application/export-erasure.hook';

@Module({
  imports: [ComplianceModule],
  providers: [ExportSectionRegistry, BuiltInExportSections, ExportStorage, ExportQueue, ExportsRepository, ExportsService, ExportErasureHook],
  exports: [ExportSectionRegistry, ExportsService, ExportQueue],
})
export class ExportModule {}
