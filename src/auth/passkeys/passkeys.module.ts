/** Passkeys (WebAuthn): the ceremonies under /auth/passkeys and a person's passkeys under /api/passkeys. */
import { Module } from '@nestjs/common';
import { RedisModule } from '../../platform/redis/redis.module';
import { AuthModule } from '../auth.module';
import { PasskeyChallenges } from './passkey-challenges';
import { PasskeyLoginController, PasskeyRegistrationController } from './passkey-ceremonies.controller';
import { PasskeysController } from './passkeys.controller';
import { PasskeysService } from './passkeys.service';

@Module({
  imports: [AuthModule, RedisModule],
  controllers: [PasskeyRegistrationController, PasskeyLoginController, PasskeysController],
  providers: [PasskeysService, PasskeyChallenges],
})
export class PasskeysModule {}
