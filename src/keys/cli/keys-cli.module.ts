import { Module } from '@nestjs/common';
import { KeysModule } from '../keys.module';
import { KeysCommand } from './keys.command';
import { CreateKeyCommand } from './create-key.command';
import { ListKeysCommand } from './list-keys.command';
import { RevokeKeyCommand } from './revoke-key.command';
import { RegenerateKeyCommand } from './regenerate-key.command';
import { ChangeKeyLimitsCommand } from './change-key-limits.command';

/** `tollgate keys`. */
@Module({
  imports: [KeysModule],
  providers: [KeysCommand, CreateKeyCommand, ListKeysCommand, RevokeKeyCommand, RegenerateKeyCommand, ChangeKeyLimitsCommand],
})
export class KeysCliModule {}
