/** The projects context in the API process: ProjectsModule (and its start step) and `/api/projects…`. */
import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { IdempotencyKeys } from '../platform/http/idempotency';
import { ProjectsModule } from './projects.module';
import { ProjectsController } from './http/projects.controller';

@Module({
  imports: [ProjectsModule, AuthModule],
  controllers: [ProjectsController],
  providers: [IdempotencyKeys],
})
export class ProjectsApiModule {}
