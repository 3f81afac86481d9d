/**
 * The keys context in the API process: KeysModule (the proxy's authentication, the api_keys
 * model), management keys, and the account API's key routes (`/api/keys/{id}…`,
 * `/api/management-keys`). The project-scoped key routes are the projects context's.
 */
import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { IdempotencyKeys } from '../platform/http/idempotency';
import { KeysModule } from './keys.module';
import { KeysController } from './http/keys.controller';
import { ManagementKeysController } from './management/management-keys.controller';
import { ManagementKeysModule } from './management/management-keys.module';

@Module({
  imports: [KeysModule, ManagementKeysModule, AuthModule],
  controllers: [KeysController, ManagementKeysController],
  providers: [IdempotencyKeys],
})
export class KeysApiModule {}
