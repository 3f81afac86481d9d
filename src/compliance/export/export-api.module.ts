/** Data exports on the API: /api/me/export(s) and /staff/users/{id}/export, /staff/exports/{id}. */
import { Module } from '@nestjs/common';
import { AuditModule } from '../../audit/audit.module';
import { AuthModule } from '../../auth/auth.module';
import { ExportModule } from './export.module';
import { ExportsController } from './http/exports.controller';
import { StaffExportsController } from './http/staff-exports.controller';

@Module({
  imports: [ExportModule, AuthModule, AuditModule],
  controllers: [ExportsController, StaffExportsController],
})
export class ExportApiModule {}
