/** Email + password sign-in (AUTH_PASSWORDS), built on the sign-in links' table, limits and mail. */
import { Module } from '@nestjs/common';
import { AuthModule } from '../auth.module';
import { MagicLinkModule } from '../magic-link/magic-link.module';
import { PasswordsController } from './passwords.controller';
import { PasswordsService } from './passwords.service';

@Module({
  imports: [AuthModule, MagicLinkModule],
  controllers: [PasswordsController],
  providers: [PasswordsService],
})
export class PasswordsModule {}
